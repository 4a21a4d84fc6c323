/**
 * The demo page's script (bundled for the browser by dev/demo-app.ts). Every auth call goes to
 * the page's own origin: the app proxies /api/auth/* to the auth service. The demo APIs are
 * called cross-origin with the JWT, as a single-page app calls its backend.
 *
 * Scripts drive the page by element id and read `#status`: `data-action` (the id of the button
 * that ran), `data-outcome` ("ok" | "error") and `data-seq` (bumped once per finished action).
 */
import { passkeyClient } from "@better-auth/passkey/client";
import { createAuthClient } from "better-auth/client";
import { organizationClient } from "better-auth/client/plugins";
import type { PageContext } from "./demo-app.js";

const ctx = JSON.parse(document.getElementById("platform")!.textContent!) as PageContext;
const auth = createAuthClient({ baseURL: window.location.origin, plugins: [passkeyClient(), organizationClient()] });

const el = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => el<HTMLInputElement>(id);

/** Local only: an empty password field means this one (the page says so). */
const DEV_PASSWORD = "authplane-dev-password";

type AuthError = { code?: string; message?: string; status?: number; statusText?: string } | null | undefined;
type Outcome = { ok: true; message: string } | { ok: false; message: string };

// ---------------------------------------------------------------- messages people can read

const DENY_TEXT: Record<string, string> = {
  app_not_configured: "this API has no app configured (stage variable authplane_app)",
  no_app: "your token carries no app: switch to one of your apps first",
  wrong_app: "your token is for another app",
  missing_permission: "your role in this app lacks the permission this route needs",
  revoked: "your access was revoked (signed out everywhere or offboarded)",
  revocations_stale: "the authorizer cannot confirm revocations right now, so it refuses to be safe",
};

/** One sentence for a failed call, never an element id or raw JSON. */
function humanError(error: AuthError, doing: string): string {
  const code = error?.code ?? "";
  const message = error?.message ?? "";
  const status = error?.status ?? 0;
  if (code === "AUTH_CANCELLED" || code === "ERROR_CEREMONY_ABORTED" || code === "NotAllowedError" || /cancel/i.test(message)) {
    return `The passkey prompt was closed before ${doing} finished. Nothing changed; try again when you are ready.`;
  }
  if (code === "PASSKEY_NOT_FOUND" || /passkey not found/i.test(message)) {
    return "This device offered a passkey the service does not know (it may have been deleted). Sign in another way, then add a new passkey.";
  }
  if (code === "BANNED_USER" || /banned|blocked/i.test(message)) return "This account is blocked. Ask your administrator to reinstate it.";
  if (code === "origin_not_allowed") return `This site is not allowed to use passkeys of ${ctx.rpId}.`;
  if (code === "INVALID_EMAIL_OR_PASSWORD") return "That email and password do not match an account.";
  if (code === "USER_ALREADY_EXISTS" || code === "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL") return "An account with this email exists already: sign in instead.";
  if (code === "PREVIOUSLY_REGISTERED" || code === "ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED") {
    return "This device already holds a passkey for your account; it is in the list below.";
  }
  if (code === "INVALID_EMAIL" || /invalid email/i.test(message)) return "Enter a valid email address.";
  if (code === "PASSWORD_TOO_SHORT") return "That password is too short (at least 8 characters).";
  if (status === 429) return "Too many attempts in a short time. Wait a minute and try again.";
  if (status === 0 || code === "NETWORK") return "Cannot reach the sign-in service. Check your connection (is make dev still running?) and try again.";
  if (status >= 500) return `The service failed while ${doing} (${status}). Try again; the service log says more.`;
  return message ? `${message.replace(/\.$/, "")}.` : `${doing} failed (${status || "no answer"}).`;
}

/** Better Auth's client returns `{ error }`; a network failure throws. Both become an Outcome. */
async function attempt(doing: string, run: () => Promise<{ error?: AuthError } | void | null | undefined>, success: string): Promise<Outcome> {
  try {
    const result = await run();
    if (result && result.error) return { ok: false, message: humanError(result.error, doing) };
    return { ok: true, message: success };
  } catch (err) {
    const e = err as Error;
    if (e instanceof TypeError || /fetch|network/i.test(e.message)) return { ok: false, message: humanError({ code: "NETWORK", status: 0 }, doing) };
    return { ok: false, message: humanError({ message: e.message }, doing) };
  }
}

let seq = 0;
function show(action: string, outcome: Outcome) {
  const status = el("status");
  status.textContent = outcome.message;
  status.dataset.action = action;
  status.dataset.outcome = outcome.ok ? "ok" : "error";
  status.dataset.seq = String(++seq);
}

/** Run a button's action, refresh what it may have changed, then report (status last). */
function on(id: string, action: () => Promise<Outcome>) {
  el<HTMLButtonElement>(id).addEventListener("click", async () => {
    let outcome: Outcome;
    try {
      outcome = await action();
    } catch (err) {
      outcome = { ok: false, message: humanError({ message: (err as Error).message }, "that") };
    }
    show(id, outcome);
  });
}

// ---------------------------------------------------------------- state on screen

interface Session {
  user: { id: string; email: string; name: string };
  session: { activeOrganizationId?: string | null };
}
interface Org {
  id: string;
  name: string;
  slug: string;
}
let session: Session | null = null;
let orgs: Org[] = [];
let token: { raw: string; header: Record<string, unknown>; claims: Record<string, unknown> } | null = null;

/** Forget everything a signed-in person saw: nothing stale stays after sign-out or a 401. */
function clearSignedIn() {
  session = null;
  orgs = [];
  clearToken();
  el("you").textContent = "";
  el("context").textContent = "";
  el("org-slug").replaceChildren();
  el("join-list").replaceChildren();
  el("passkeys").replaceChildren();
  clearApiResult();
}

function clearToken() {
  token = null;
  renderContext();
  el("token-view").hidden = true;
  input("token-raw").value = "";
  el("token-header").replaceChildren();
  el("token-times").replaceChildren();
  el("token-claims").textContent = "";
  el("token-countdown").textContent = "";
}

function clearApiResult() {
  el("api-status").textContent = "";
  delete el("api-status").dataset.status;
  el("api-result").textContent = "";
  el("api-result").hidden = true;
}

function setView(signedIn: boolean) {
  el("signed-out-view").hidden = signedIn;
  el("signed-in-view").hidden = !signedIn;
  el("whoami").textContent = signedIn && session ? session.user.email : "signed out";
}

const when = (d: string | Date | null | undefined) => (d ? new Date(d).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "—");

function row(cells: (string | Node)[]): HTMLTableRowElement {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    td.append(c);
    tr.append(td);
  }
  return tr;
}

function button(label: string, opts: { id?: string; cls?: string; onClick: () => void }): HTMLButtonElement {
  const b = document.createElement("button");
  b.textContent = label;
  if (opts.id) b.id = opts.id;
  b.className = opts.cls ?? "small";
  b.addEventListener("click", opts.onClick);
  return b;
}

function pair(dl: HTMLElement, term: string, value: string) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  dl.append(dt, dd);
}

// ---------------------------------------------------------------- session, apps, context

async function refresh(): Promise<boolean> {
  let data: Session | null = null;
  try {
    data = ((await auth.getSession()).data as Session | null) ?? null;
  } catch {
    data = null;
  }
  if (!data?.user) {
    clearSignedIn();
    setView(false);
    startAutofill();
    return false;
  }
  session = data;
  setView(true);
  el("you").textContent = `${data.user.name || data.user.email} · ${data.user.email}`;
  await Promise.all([renderApps(), renderPasskeys()]);
  return true;
}

async function renderApps() {
  const { data } = await auth.organization.list();
  orgs = (data as Org[] | null) ?? [];
  const select = el<HTMLSelectElement>("org-slug");
  select.replaceChildren(
    ...orgs.map((o) => {
      const opt = document.createElement("option");
      opt.value = o.slug;
      opt.textContent = o.slug === ctx.app ? `${o.name} (this app)` : o.name;
      opt.selected = o.slug === ctx.app;
      return opt;
    }),
  );
  if (!orgs.length) {
    const opt = document.createElement("option");
    opt.value = "";
    opt.textContent = "no apps yet";
    select.append(opt);
  }
  el<HTMLButtonElement>("set-active-org").disabled = !orgs.length;
  renderContext();

  // make dev shortcut: join demo apps you are not in yet, as user or read-only viewer.
  const mine = new Set(orgs.map((o) => o.slug));
  const joinList = el("join-list");
  joinList.replaceChildren();
  for (const a of ctx.apps.filter((a) => !mine.has(a.slug))) {
    joinList.append(
      button(`Join ${a.slug}`, { id: `join-${a.slug}`, onClick: () => void join(a.slug, "user") }),
      button(`Join ${a.slug} as viewer`, { id: `join-${a.slug}-viewer`, onClick: () => void join(a.slug, "viewer") }),
    );
  }
}

/**
 * Which app you are in is what this app's tokens say: a token minted through an app's origin
 * carries that app when you are a member there, and no app otherwise.
 */
function renderContext() {
  const context = el("context");
  if (!session) return context.replaceChildren();
  const app = token?.claims.org_slug;
  if (typeof app === "string") {
    context.replaceChildren("In ", badge(app), " as ", badge(String(token!.claims.role ?? "member")));
  } else if (token) {
    const member = orgs.some((o) => o.slug === ctx.app);
    context.replaceChildren(badge("no app", true), member ? " Your token carries no app: switch to one of your apps below." : ` You are not in ${ctx.app}: join it, or switch to one of your apps.`);
  } else {
    context.replaceChildren();
  }
}

function badge(text: string, none = false): HTMLElement {
  const b = document.createElement("span");
  b.className = none ? "badge none" : "badge";
  b.textContent = text;
  return b;
}

async function join(slug: string, role: "user" | "viewer") {
  const outcome = await (async (): Promise<Outcome> => {
    const res = await fetch("/dev/join", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slug, role }) }).catch(() => null);
    if (!res) return { ok: false, message: humanError({ code: "NETWORK" }, "joining") };
    if (!res.ok) return { ok: false, message: ((await res.json().catch(() => ({}))) as { message?: string }).message ?? `Joining ${slug} failed (${res.status}).` };
    await refresh();
    if (slug !== ctx.app) return { ok: true, message: `You joined ${slug} as ${role}. Switch to it from the list.` };
    await loadToken();
    return { ok: true, message: `You joined ${slug} as ${role} and are now in it.` };
  })();
  show(`join-${slug}${role === "viewer" ? "-viewer" : ""}`, outcome);
}

/** Right after signing in: be in this app if you are a member and no app is active yet. */
async function enterThisApp() {
  if (!session || session.session.activeOrganizationId) return;
  const { data } = await auth.organization.list();
  if (((data as Org[] | null) ?? []).some((o) => o.slug === ctx.app)) {
    await auth.organization.setActive({ organizationSlug: ctx.app });
  }
}

async function afterSignIn(message: string): Promise<Outcome> {
  await refresh();
  await enterThisApp();
  await refresh();
  await loadToken();
  return { ok: true, message };
}

// ---------------------------------------------------------------- passkeys

interface Passkey {
  id: string;
  name?: string | null;
  createdAt?: string | null;
  deviceType?: string;
  backedUp?: boolean;
}

async function renderPasskeys() {
  const { data } = await auth.passkey.listUserPasskeys();
  const list = ((data as Passkey[] | null) ?? []).slice().sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
  const body = el("passkeys");
  body.replaceChildren();
  if (!list.length) {
    const tr = row(["No passkeys yet. Add one and sign in without a password on every app."]);
    tr.firstElementChild!.setAttribute("colspan", "5");
    body.append(tr);
    return;
  }
  for (const pk of list) {
    const name = pk.name || "Unnamed passkey";
    const tr = row([
      name,
      when(pk.createdAt),
      // Better Auth 1.7 records no last-use time for a passkey.
      "not recorded",
      `${pk.deviceType === "multiDevice" ? "synced" : "this device only"}${pk.backedUp ? ", backed up" : ""}`,
      "",
    ]);
    tr.dataset.passkeyId = pk.id;
    tr.dataset.name = name;
    tr.lastElementChild!.append(
      button("Rename", { cls: "small rename", onClick: () => startRename(tr, pk) }),
      " ",
      button("Delete", { cls: "small danger delete", onClick: () => void confirmDelete(tr, pk, list.length) }),
    );
    body.append(tr);
  }
}

function startRename(tr: HTMLTableRowElement, pk: Passkey) {
  const cell = tr.firstElementChild as HTMLElement;
  const field = document.createElement("input");
  field.className = "rename-input";
  field.value = pk.name ?? "";
  field.setAttribute("aria-label", "New passkey name");
  const save = button("Save", { cls: "small primary rename-save", onClick: () => void doRename() });
  const cancel = button("Cancel", { cls: "small rename-cancel", onClick: () => void renderPasskeys() });
  cell.replaceChildren(field, save, cancel);
  field.focus();
  field.addEventListener("keydown", (e) => {
    if (e.key === "Enter") void doRename();
  });
  async function doRename() {
    const name = field.value.trim();
    if (!name) return show("rename-passkey", { ok: false, message: "Give the passkey a name, e.g. the device it lives on." });
    const outcome = await attempt("renaming the passkey", () => auth.passkey.updatePasskey({ id: pk.id, name }), `Renamed the passkey to “${name}”.`);
    await renderPasskeys();
    show("rename-passkey", outcome);
  }
}

/** Deleting the last way in is refused; deleting the last passkey while another way remains asks first. */
async function confirmDelete(tr: HTMLTableRowElement, pk: Passkey, passkeyCount: number) {
  const { data } = await auth.listAccounts();
  const others = ((data as { providerId: string }[] | null) ?? []).map((a) => a.providerId).filter((p) => p === "credential" || p === "google");
  const otherWays = [...new Set(others)].map((p) => (p === "credential" ? "your password" : "Google"));
  if (passkeyCount === 1 && !otherWays.length) {
    return show("delete-passkey", { ok: false, message: "This passkey is your only way to sign in, so it cannot be deleted. Add another passkey first." });
  }
  const cell = tr.lastElementChild as HTMLElement;
  const warning = document.createElement("span");
  warning.className = "note delete-warning";
  warning.textContent = passkeyCount === 1 ? `Last passkey: afterwards you sign in with ${otherWays.join(" or ")}. ` : "Delete this passkey? ";
  cell.replaceChildren(
    warning,
    button("Delete", {
      cls: "small danger delete-confirm",
      onClick: async () => {
        const outcome = await attempt("deleting the passkey", () => auth.passkey.deletePasskey({ id: pk.id }), `Deleted “${pk.name || "Unnamed passkey"}”. The device may still offer it; the service will refuse it.`);
        await renderPasskeys();
        show("delete-passkey", outcome);
      },
    }),
    " ",
    button("Keep", { cls: "small delete-cancel", onClick: () => void renderPasskeys() }),
  );
}

// ---------------------------------------------------------------- token

function decodePart(part: string): Record<string, unknown> {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

async function loadToken(): Promise<Outcome> {
  const res = await fetch("/api/auth/token", { credentials: "same-origin" }).catch(() => null);
  if (!res) {
    clearToken();
    return { ok: false, message: humanError({ code: "NETWORK" }, "getting a token") };
  }
  if (res.status === 401) {
    // The session is gone (signed out elsewhere, expired, revoked): show the signed-out page.
    await refresh();
    return { ok: false, message: "Your session has ended. Sign in again to get a token." };
  }
  if (!res.ok) {
    clearToken();
    return { ok: false, message: humanError({ status: res.status }, "getting a token") };
  }
  const { token: raw } = (await res.json()) as { token: string };
  const [h, p] = raw.split(".");
  token = { raw, header: decodePart(h!), claims: decodePart(p!) };
  renderToken();
  renderContext();
  const app = token.claims.org_slug as string | undefined;
  return { ok: true, message: app ? `Here is a fresh token for ${app}, valid for 15 minutes.` : "Here is a fresh token. It carries no app: switch to one of your apps." };
}

function renderToken() {
  if (!token) return clearToken();
  el("token-view").hidden = false;
  input("token-raw").value = token.raw;
  const header = el("token-header");
  header.replaceChildren();
  pair(header, "alg", String(token.header.alg ?? ""));
  pair(header, "kid", String(token.header.kid ?? ""));
  pair(header, "typ", String(token.header.typ ?? "—"));
  const times = el("token-times");
  times.replaceChildren();
  for (const claim of ["iat", "nbf", "exp"]) {
    const v = token.claims[claim];
    if (typeof v === "number") pair(times, claim, `${new Date(v * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })} (${v})`);
  }
  el("token-claims").textContent = JSON.stringify(token.claims, null, 2);
  tick();
}

function tick() {
  const out = el("token-countdown");
  const exp = token?.claims.exp;
  if (typeof exp !== "number") {
    out.textContent = "";
    return;
  }
  const left = Math.round(exp - Date.now() / 1000);
  const mmss = (s: number) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  out.dataset.expired = String(left <= 0);
  out.textContent = left > 0 ? `in ${mmss(left)}` : `${mmss(-left)} ago: get a fresh token`;
}
setInterval(tick, 1000);

// ---------------------------------------------------------------- demo APIs through the gateway

function renderApis() {
  el("apis").replaceChildren(
    ...ctx.apps
      .filter((a) => a.apiUrl)
      .map((a) => {
        const name = document.createElement("span");
        name.append(a.slug === ctx.app ? `${a.slug} (this app) ` : `${a.slug} `);
        const code = document.createElement("code");
        code.className = "note";
        code.textContent = a.apiUrl;
        name.append(code);
        return row([
          name,
          button("Call", { id: `api-${a.slug}-read`, onClick: () => void callApi(a, "GET", "/claims") }),
          button("Call", { id: `api-${a.slug}-write`, onClick: () => void callApi(a, "POST", "/notes") }),
        ]);
      }),
  );
}

async function callApi(api: PageContext["apps"][number], method: "GET" | "POST", path: string) {
  const action = `api-${api.slug}-${method === "GET" ? "read" : "write"}`;
  if (!token || (typeof token.claims.exp === "number" && token.claims.exp * 1000 < Date.now() + 5000)) {
    const got = await loadToken();
    if (!got.ok) return show(action, got);
  }
  clearApiResult();
  const res = await fetch(`${api.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token!.raw}`, ...(method === "POST" ? { "content-type": "application/json" } : {}) },
    body: method === "POST" ? JSON.stringify({ note: `hello from ${ctx.app}` }) : undefined,
  }).catch(() => null);
  const statusLine = el("api-status");
  if (!res) {
    statusLine.textContent = `${method} ${api.slug}${path}: the gateway did not answer.`;
    statusLine.dataset.status = "0";
    return show(action, { ok: false, message: humanError({ code: "NETWORK" }, "calling the API") });
  }
  const text = await res.text();
  statusLine.dataset.status = String(res.status);
  const reason = res.headers.get("x-local-gateway-deny-reason");
  statusLine.dataset.reason = reason ?? "";
  const explained = reason ? (DENY_TEXT[reason] ?? reason) : "";
  if (res.ok) {
    statusLine.textContent = `${res.status} from ${method} ${path} on ${api.slug}: the backend received these claims from the authorizer.`;
  } else if (res.status === 403) {
    statusLine.textContent = `403 Forbidden from ${method} ${path} on ${api.slug}: the authorizer refused${reason ? ` (${reason}: ${explained})` : ""}. The backend never ran.`;
  } else {
    statusLine.textContent = `${res.status} from ${method} ${path} on ${api.slug}.`;
  }
  const result = el("api-result");
  try {
    result.textContent = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    result.textContent = text;
  }
  result.hidden = false;
  show(action, res.ok ? { ok: true, message: `${api.slug} answered ${res.status}.` } : { ok: false, message: `${api.slug} answered ${res.status}${reason ? `: ${explained}` : ""}.` });
}

// ---------------------------------------------------------------- sign-in

let autofill: Promise<void> | null = null;

/**
 * Passkey autofill (WebAuthn conditional mediation): the browser offers this site's passkeys in
 * the email field's suggestions; picking one signs in. Started on first focus, so a page just
 * signed out does not sign straight back in. A cancelled or replaced request stays silent.
 */
function startAutofill() {
  if (autofill || !window.PublicKeyCredential?.isConditionalMediationAvailable) return;
  const field = input("email");
  const begin = () => {
    if (autofill || session) return;
    autofill = (async () => {
      if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
      const result = await auth.signIn.passkey({ autoFill: true }).catch(() => null);
      autofill = null;
      const error = result?.error as AuthError;
      if (!result || (error && /cancel|abort/i.test(`${error.code} ${error.message}`))) return;
      if (error) return show("sign-in-passkey", { ok: false, message: humanError(error, "signing in") });
      show("sign-in-passkey", await afterSignIn("Signed in with your passkey."));
    })();
  };
  field.addEventListener("focus", begin, { once: true });
  if (document.activeElement === field) begin();
}

on("sign-in-passkey", async () => {
  const outcome = await attempt("signing in", () => auth.signIn.passkey(), "Signed in with your passkey.");
  return outcome.ok ? afterSignIn(outcome.message) : outcome;
});

on("sign-in-google", async () => {
  // Leaves the page: Google (or make dev's stand-in) asks, then comes back here signed in.
  const outcome = await attempt("starting Google sign-in", () => auth.signIn.social({ provider: "google", callbackURL: "/?signed-in=google", errorCallbackURL: "/?sign-in-error=google" }), "Taking you to Google…");
  return outcome;
});

on("sign-in-password", async () => {
  const outcome = await attempt("signing in", () => auth.signIn.email({ email: input("email").value.trim(), password: input("password").value || DEV_PASSWORD }), "Signed in with your password.");
  return outcome.ok ? afterSignIn(outcome.message) : outcome;
});

on("sign-up", async () => {
  const email = input("email").value.trim();
  const outcome = await attempt(
    "creating the account",
    () => auth.signUp.email({ email, name: input("name").value.trim() || email, password: input("password").value || DEV_PASSWORD }),
    "",
  );
  if (!outcome.ok) return outcome;
  // A new person lands in this app (make dev's join), so their first token already carries it.
  await fetch("/dev/join", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slug: ctx.app, role: "user" }) }).catch(() => null);
  return afterSignIn(`Welcome! Your account is ready and you are in ${ctx.app}. Add a passkey next.`);
});

// ---------------------------------------------------------------- signed in

on("register-passkey", async () => {
  const name = `${navigator.platform || "This device"} · ${window.location.hostname}`;
  const outcome = await attempt("adding the passkey", () => auth.passkey.addPasskey({ name }), `Added a passkey (“${name}”). Rename it to something you will recognise.`);
  await renderPasskeys();
  return outcome;
});

on("sign-out", async () => {
  const outcome = await attempt("signing out", () => auth.signOut(), "You are signed out.");
  clearSignedIn();
  await refresh();
  return outcome;
});

on("set-active-org", async () => {
  const slug = el<HTMLSelectElement>("org-slug").value;
  if (!slug) return { ok: false, message: "You are not in any app yet: join one first." };
  // The session's active app serves clients without an origin (native apps, servers) ...
  const outcome = await attempt("switching apps", () => auth.organization.setActive({ organizationSlug: slug }), "");
  if (!outcome.ok) return outcome;
  // ... while a web app's tokens carry the app whose origin mints them: switching is opening it.
  const target = ctx.apps.find((a) => a.slug === slug);
  if (target?.url && slug !== ctx.app) {
    window.location.assign(`${target.url}/?switched=${encodeURIComponent(ctx.app)}`);
    return new Promise<Outcome>(() => {});
  }
  clearApiResult();
  await refresh();
  const got = await loadToken();
  return got.ok ? { ok: true, message: `You are in ${slug}. ${got.message}` } : got;
});

on("get-token", loadToken);

on("copy-token", async () => {
  if (!token) return { ok: false, message: "Get a token first." };
  try {
    await navigator.clipboard.writeText(token.raw);
    return { ok: true, message: "Copied the token to the clipboard." };
  } catch {
    input("token-raw").select();
    return { ok: true, message: "Selected the token: press Ctrl+C (or ⌘C) to copy it." };
  }
});

// ---------------------------------------------------------------- start

renderApis();
if (!ctx.emailPassword) el("password-block").hidden = true;
if (!ctx.google) el("sign-in-google").hidden = true;
else if (ctx.google !== "Google") el("sign-in-google").title = `make dev: the ${ctx.google} for Google`;
if (ctx.related) el("rp-note").append(` This app is on another domain; the browser learns from https://${ctx.rpId}/.well-known/webauthn that it may use them.`);

void (async () => {
  const params = new URLSearchParams(window.location.search);
  const signedIn = await refresh();
  if (params.has("switched")) {
    history.replaceState(null, "", "/");
    if (signedIn) {
      const got = await loadToken();
      show("set-active-org", got.ok ? { ok: true, message: `You switched from ${params.get("switched")} to ${ctx.app}. ${got.message}` } : got);
    } else {
      show("set-active-org", { ok: false, message: `You are in ${ctx.app} now, but its sign-in is separate (another domain): sign in here with your passkey.` });
    }
  } else if (params.has("signed-in") || params.has("sign-in-error") || params.has("error")) {
    history.replaceState(null, "", "/");
    if (params.has("sign-in-error") || params.has("error")) {
      const err = params.get("error") ?? "";
      const message =
        err === "access_denied"
          ? "Google sign-in was cancelled. Nothing changed."
          : /ban|block/i.test(`${err} ${params.get("error_description") ?? ""}`)
            ? humanError({ code: "BANNED_USER" }, "signing in")
            : `Google sign-in did not finish (${err.replace(/_/g, " ") || "unknown error"}). Try again.`;
      show("sign-in-google", { ok: false, message });
    } else if (signedIn) {
      // First Google sign-in: a new person lands in this app (make dev's join), as after sign-up.
      if (!orgs.length) await fetch("/dev/join", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slug: ctx.app, role: "user" }) }).catch(() => null);
      show("sign-in-google", await afterSignIn("Signed in with Google."));
    }
  } else {
    const current = session as Session | null;
    if (signedIn && current && !current.session.activeOrganizationId) {
      await enterThisApp();
      await refresh();
    }
    if (signedIn) await loadToken();
  }
  el("status").dataset.ready = "true";
})();
