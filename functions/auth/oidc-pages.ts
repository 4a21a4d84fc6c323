/**
 * The OpenID Provider's routes outside Better Auth's /api/auth router: discovery at the issuer's
 * root (where relying parties look for it) and the two pages the provider sends a browser to,
 * sign-in and consent. The pages are deliberately small: plain HTML plus one script that calls
 * the service's own sign-in endpoints (passkey, Google, email+password when enabled) with the
 * provider's signed `oauth_query`, after which the provider resumes the authorization itself.
 */
import { Hono } from "hono";
import type { AuthConfig } from "./config.js";
import { hostGuard } from "./guards.js";
import { OIDC_CONSENT_PATH, OIDC_SIGN_IN_PATH } from "./oidc-paths.js";

const SCRIPT_PATH = "/oidc/page.js";

/**
 * No inline script, no framing (the consent button must not be clickjacked), no referrer (the
 * page URL carries the signed authorization request), never cached.
 */
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}
button,input{font:inherit;display:block;width:100%;margin:.4rem 0;padding:.5rem;box-sizing:border-box}
#status{min-height:1.5em}#status[data-error=true]{color:#b00}.muted{color:#666;font-size:.9em}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head><body>${body}<p id="status" role="status"></p>
<script type="module" src="${SCRIPT_PATH}"></script></body></html>`;
}

function signInPage(config: AuthConfig): string {
  const google = config.google ? `<button id="sign-in-google" type="button">Continue with Google</button>` : "";
  const password = config.emailPassword
    ? `<form id="password-form"><input id="email" type="email" autocomplete="username" placeholder="Email" required>
<input id="password" type="password" autocomplete="current-password" placeholder="Password" required>
<button type="submit">Sign in with password</button></form>`
    : "";
  return page(
    "Sign in",
    `<main data-page="sign-in"><h1>Sign in</h1><p class="muted" id="client"></p>
<button id="sign-in-passkey" type="button">Sign in with a passkey</button>${google}${password}</main>`,
  );
}

function consentPage(): string {
  return page(
    "Allow access?",
    `<main data-page="consent"><h1>Allow <span id="client-name">this application</span>?</h1>
<p>It asks to see:</p><ul id="scopes"></ul>
<button id="allow" type="button">Allow</button><button id="deny" type="button">Deny</button></main>`,
  );
}

/**
 * The page script, as plain browser JavaScript (no bundler on the Lambda). The passkey
 * ceremony mirrors Better Auth's passkey client: options from the service, `credentials.get`,
 * the JSON-encoded assertion back.
 */
const PAGE_SCRIPT = `
const $ = (id) => document.getElementById(id);
const status = (text, error = false) => { $("status").textContent = text; $("status").dataset.error = String(error); };
// Exactly the parameters the provider signed (see @better-auth/oauth-provider's client plugin).
function signedQuery() {
  const params = new URLSearchParams(location.search);
  const names = new Set(params.getAll("ba_param"));
  if (!params.has("sig") || !names.size) return undefined;
  const out = new URLSearchParams();
  for (const [k, v] of params) if (k === "sig" || k === "ba_param" || names.has(k)) out.append(k, v);
  return out.toString();
}
async function call(path, body, method = "POST") {
  const res = await fetch("/api/auth" + path, method === "GET" ? { credentials: "same-origin" } : {
    method, credentials: "same-origin", headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ ...body, oauth_query: signedQuery() }),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error_description || data.message || data.error || res.statusText);
  return data;
}
function follow(data) {
  const url = data && (data.url || data.redirect_uri);
  if (url) { location.assign(url); return; }
  status("signed in");
}
const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
const unb64 = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
async function passkey() {
  const o = await call("/passkey/generate-authenticate-options", undefined, "GET");
  const cred = await navigator.credentials.get({ publicKey: {
    challenge: unb64(o.challenge), rpId: o.rpId, timeout: o.timeout, userVerification: o.userVerification,
    allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: unb64(c.id) })),
  } });
  const r = cred.response;
  const response = { id: cred.id, rawId: b64(cred.rawId), type: cred.type, authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
    response: { clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData), signature: b64(r.signature),
      userHandle: r.userHandle ? b64(r.userHandle) : undefined } };
  return call("/passkey/verify-authentication", { response });
}
function on(id, event, action) {
  const el = $(id);
  if (!el) return;
  el.addEventListener(event, async (e) => {
    e.preventDefault();
    status("…");
    try { follow(await action()); } catch (err) { status(err.message || String(err), true); }
  });
}
const pageName = document.querySelector("main")?.dataset.page;
if (pageName === "sign-in") {
  on("sign-in-passkey", "click", passkey);
  on("sign-in-google", "click", () => call("/sign-in/social", { provider: "google", callbackURL: location.href }));
  on("password-form", "submit", () => call("/sign-in/email", { email: $("email").value, password: $("password").value }));
} else if (pageName === "consent") {
  const params = new URLSearchParams(location.search);
  for (const s of (params.get("scope") || "").split(" ").filter(Boolean)) {
    const li = document.createElement("li"); li.textContent = s; $("scopes").append(li);
  }
  call("/oauth2/public-client?client_id=" + encodeURIComponent(params.get("client_id") || ""), undefined, "GET")
    .then((c) => { if (c.client_name) $("client-name").textContent = c.client_name; }).catch(() => {});
  on("allow", "click", () => call("/oauth2/consent", { accept: true }));
  on("deny", "click", () => call("/oauth2/consent", { accept: false }));
}
`;

/** The two discovery documents, which the provider plugin builds (loaded on first need: auth-routes.ts). */
export type OidcMetadata = (document: "openid-configuration" | "oauth-authorization-server", req: Request) => Promise<Response>;

/** Discovery + the provider's pages; `metadata` answers discovery from the request's Better Auth instance. */
export function oidcRoutes(config: AuthConfig, metadata: OidcMetadata): Hono {
  const routes = new Hono();
  routes.use("/.well-known/openid-configuration", hostGuard(config));
  routes.use("/.well-known/oauth-authorization-server", hostGuard(config));
  routes.use("/oidc/*", hostGuard(config));
  // The plugin's logout confirmation page sends `form-action 'self'`, which (in Chromium) also
  // blocks the redirect its own confirm POST answers with: the registered post-logout URI on the
  // tool's origin. Allow exactly that origin; the plugin redirects only to a registered URI.
  routes.use("/api/auth/oauth2/end-session", async (c, next) => {
    await next();
    const csp = c.res.headers.get("content-security-policy");
    const target = c.req.query("post_logout_redirect_uri");
    if (!csp?.includes("form-action 'self'") || !target || !URL.canParse(target)) return;
    const origin = new URL(target).origin;
    if (!/^https?:\/\/[a-z0-9.:[\]-]+$/i.test(origin)) return;
    c.res.headers.set("content-security-policy", csp.replace("form-action 'self'", `form-action 'self' ${origin}`));
  });
  // The issuer has no path, so RFC 8414 / OIDC Discovery put both documents at the root.
  routes.get("/.well-known/openid-configuration", (c) => metadata("openid-configuration", c.req.raw));
  routes.get("/.well-known/oauth-authorization-server", (c) => metadata("oauth-authorization-server", c.req.raw));
  const signIn = signInPage(config);
  const consent = consentPage();
  routes.get(OIDC_SIGN_IN_PATH, () => new Response(signIn, { headers: PAGE_HEADERS }));
  routes.get(OIDC_CONSENT_PATH, () => new Response(consent, { headers: PAGE_HEADERS }));
  routes.get(SCRIPT_PATH, () => new Response(PAGE_SCRIPT, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache", "x-content-type-options": "nosniff" } }));
  return routes;
}
