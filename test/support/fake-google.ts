/**
 * A fake Google on loopback: an OAuth 2.0 / OpenID Connect provider with discovery, an
 * authorize endpoint that consents at once (302 back to redirect_uri) or, with `consent`, shows
 * a page where a person picks who to be and clicks Continue or Cancel, a token endpoint that
 * checks client credentials, redirect_uri and PKCE, a JWKS endpoint, and RS256 ID tokens it
 * signs itself with jose. Better Auth talks to it over real HTTP, so its OAuth code path runs
 * unchanged; only the issuer differs from accounts.google.com.
 *
 * Test and `make dev` code only: nothing under functions/ imports it, and the Lambda bundle
 * replaces the Google override that would talk to it (functions/build.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";

export interface FakeGoogleUser {
  sub: string;
  email: string;
  name: string;
  email_verified?: boolean;
}

export interface FakeGoogle {
  issuer: string;
  /** `${issuer}/.well-known/openid-configuration` */
  discoveryUrl: string;
  clientId: string;
  clientSecret: string;
  /** Who the next authorize request signs in as. */
  setUser(user: FakeGoogleUser): void;
  /** Token requests seen so far (for asserting the real code path ran). */
  tokenRequests: number;
  close(): Promise<void>;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  codeChallenge?: string;
  nonce?: string;
  user: FakeGoogleUser;
  expiresAt: number;
}

export interface FakeGoogleOptions {
  clientId?: string;
  clientSecret?: string;
  /** Show a consent page (make dev) instead of consenting at once (tests of the OAuth path). @default false */
  consent?: boolean;
  /** @default a free port */
  port?: number;
}

interface PendingConsent {
  redirectUri: string;
  state?: string;
  codeChallenge?: string;
  nonce?: string;
  expiresAt: number;
}

/** The same email is the same Google account on every run: a stable subject from it. */
export function fakeGoogleSubject(email: string): string {
  return `1${BigInt(`0x${createHash("sha256").update(email.trim().toLowerCase()).digest("hex").slice(0, 15)}`).toString().padStart(20, "0")}`;
}

export async function startFakeGoogle(opts: FakeGoogleOptions = {}): Promise<FakeGoogle> {
  const clientId = opts.clientId ?? "fake-google-client.apps.googleusercontent.com";
  const clientSecret = opts.clientSecret ?? "fake-google-secret";
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const kid = randomBytes(8).toString("hex");
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const codes = new Map<string, PendingCode>();
  const consents = new Map<string, PendingConsent>();
  let user: FakeGoogleUser = { sub: "100000000000000000001", email: "ada@example.org", name: "Ada Lovelace" };
  let issuer = "";

  const state = { tokenRequests: 0 };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", issuer);
    if (req.method === "GET" && url.pathname === "/.well-known/openid-configuration") {
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/o/oauth2/v2/auth`,
        token_endpoint: `${issuer}/token`,
        userinfo_endpoint: `${issuer}/v1/userinfo`,
        jwks_uri: `${issuer}/oauth2/v3/certs`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        code_challenge_methods_supported: ["S256"],
      });
    }
    if (req.method === "GET" && url.pathname === "/oauth2/v3/certs") return json(res, 200, { keys: [publicJwk] });
    if (req.method === "GET" && url.pathname === "/o/oauth2/v2/auth") {
      const q = url.searchParams;
      const redirectUri = q.get("redirect_uri");
      if (q.get("client_id") !== clientId || !redirectUri || q.get("response_type") !== "code") {
        return json(res, 400, { error: "invalid_request" });
      }
      if (q.get("code_challenge") && q.get("code_challenge_method") !== "S256") {
        return json(res, 400, { error: "invalid_request", error_description: "S256 only" });
      }
      const request: PendingConsent = {
        redirectUri,
        state: q.get("state") ?? undefined,
        codeChallenge: q.get("code_challenge") ?? undefined,
        nonce: q.get("nonce") ?? undefined,
        expiresAt: Date.now() + 10 * 60_000,
      };
      if (!opts.consent) return redirectWithCode(res, request, user);
      const id = randomBytes(16).toString("hex");
      consents.set(id, request);
      return html(res, 200, consentPage(id, new URL(redirectUri).host, user));
    }
    if (req.method === "POST" && url.pathname === "/o/oauth2/v2/auth/consent") {
      const form = new URLSearchParams(await readBody(req));
      const id = form.get("request") ?? "";
      const request = consents.get(id);
      consents.delete(id);
      if (!request || request.expiresAt < Date.now()) return html(res, 400, page("This sign-in request has expired", "<p>Go back to the app and start again.</p>"));
      if (form.get("decision") !== "allow") return redirectBack(res, request, { error: "access_denied" });
      const email = (form.get("email") ?? "").trim().toLowerCase();
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) return html(res, 400, page("That is not an email address", "<p>Go back and try again.</p>"));
      const chosen = { sub: fakeGoogleSubject(email), email, name: (form.get("name") ?? "").trim() || email.split("@")[0]! };
      // The page offers the last account chosen next time, as Google's account picker does.
      user = chosen;
      return redirectWithCode(res, request, chosen);
    }
    if (req.method === "POST" && url.pathname === "/token") {
      state.tokenRequests++;
      const form = new URLSearchParams(await readBody(req));
      const basic = parseBasic(req.headers.authorization);
      const id = basic?.id ?? form.get("client_id");
      const secret = basic?.secret ?? form.get("client_secret");
      if (id !== clientId || secret !== clientSecret) return json(res, 401, { error: "invalid_client" });
      const code = form.get("code") ?? "";
      const pending = codes.get(code);
      codes.delete(code);
      if (!pending || pending.expiresAt < Date.now() || form.get("grant_type") !== "authorization_code") {
        return json(res, 400, { error: "invalid_grant" });
      }
      if (form.get("redirect_uri") !== pending.redirectUri) return json(res, 400, { error: "invalid_grant" });
      if (pending.codeChallenge) {
        const verifier = form.get("code_verifier") ?? "";
        if (createHash("sha256").update(verifier).digest("base64url") !== pending.codeChallenge) {
          return json(res, 400, { error: "invalid_grant", error_description: "PKCE" });
        }
      }
      const idToken = await new SignJWT({
        email: pending.user.email,
        email_verified: pending.user.email_verified ?? true,
        name: pending.user.name,
        ...(pending.nonce ? { nonce: pending.nonce } : {}),
      })
        .setProtectedHeader({ alg: "RS256", kid })
        .setIssuer(issuer)
        .setAudience(clientId)
        .setSubject(pending.user.sub)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey);
      return json(res, 200, {
        access_token: randomBytes(16).toString("hex"),
        token_type: "Bearer",
        expires_in: 3599,
        scope: "openid email profile",
        id_token: idToken,
      });
    }
    if (req.method === "GET" && url.pathname === "/v1/userinfo") {
      return json(res, 200, { sub: user.sub, email: user.email, email_verified: true, name: user.name });
    }
    json(res, 404, { error: "not_found" });
  };

  function redirectWithCode(res: ServerResponse, request: PendingConsent, who: FakeGoogleUser) {
    const code = randomBytes(16).toString("hex");
    codes.set(code, { clientId, redirectUri: request.redirectUri, codeChallenge: request.codeChallenge, nonce: request.nonce, user: who, expiresAt: Date.now() + 60_000 });
    return redirectBack(res, request, { code });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => json(res, 500, { error: String(err) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", () => {});
  const { port } = server.address() as { port: number };
  issuer = `http://127.0.0.1:${port}`;

  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    clientId,
    clientSecret,
    setUser: (u) => {
      user = u;
    },
    get tokenRequests() {
      return state.tokenRequests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function redirectBack(res: ServerResponse, request: PendingConsent, params: Record<string, string>) {
  const back = new URL(request.redirectUri);
  for (const [k, v] of Object.entries(params)) back.searchParams.set(k, v);
  if (request.state) back.searchParams.set("state", request.state);
  res.writeHead(302, { location: back.toString(), "cache-control": "no-store" });
  res.end();
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:1.5rem;border:1px solid #ddd;border-radius:10px}
label{display:block;margin:.6rem 0 .2rem}input{font:inherit;width:100%;box-sizing:border-box;padding:.4rem}
button{font:inherit;padding:.45rem 1rem;margin:1rem .5rem 0 0;border-radius:6px;border:1px solid #888;background:#fff;cursor:pointer}
button[value=allow]{background:#1a73e8;border-color:#1a73e8;color:#fff}.note{color:#555;font-size:13px}</style></head>
<body><h1 style="font-size:1.3rem">${escapeHtml(title)}</h1>${body}</body></html>`;
}

function consentPage(requestId: string, appHost: string, user: FakeGoogleUser): string {
  return page(
    "Sign in with Google (local stand-in)",
    `<p><strong>${escapeHtml(appHost)}</strong> wants to know your name and email address.</p>
<form method="post" action="/o/oauth2/v2/auth/consent">
<input type="hidden" name="request" value="${escapeHtml(requestId)}">
<label for="email">Google account email</label><input id="email" name="email" type="email" required value="${escapeHtml(user.email)}">
<label for="name">Name</label><input id="name" name="name" value="${escapeHtml(user.name)}">
<button id="consent-allow" name="decision" value="allow">Continue</button><button id="consent-deny" name="decision" value="deny" formnovalidate>Cancel</button>
</form>
<p class="note">This is make dev's local OpenID provider standing in for Google: no internet, no real account.
Set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET to use the real Google instead.</p>`,
  );
}

function html(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "x-frame-options": "DENY" });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

function parseBasic(header: string | undefined): { id: string; secret: string } | null {
  if (!header?.startsWith("Basic ")) return null;
  const [id, secret] = Buffer.from(header.slice(6), "base64").toString().split(":");
  return { id: decodeURIComponent(id ?? ""), secret: decodeURIComponent(secret ?? "") };
}
