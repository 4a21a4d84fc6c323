/**
 * The demo page's script (bundled for the browser by dev/demo-app.ts). Every call goes to the
 * page's own origin: the app proxies /api/auth/* to the auth service.
 */
import { passkeyClient } from "@better-auth/passkey/client";
import { createAuthClient } from "better-auth/client";
import { organizationClient } from "better-auth/client/plugins";

const auth = createAuthClient({ baseURL: window.location.origin, plugins: [passkeyClient(), organizationClient()] });
const $ = <T extends HTMLElement = HTMLInputElement>(id: string) => document.getElementById(id) as T;

/** Dev-only: sign-up uses one fixed password; sign-in is by passkey. */
const DEV_PASSWORD = "authplane-dev-password";

function show(message: string, error = false) {
  const status = $<HTMLElement>("status");
  status.textContent = message;
  status.dataset.error = String(error);
}

async function refreshWhoami() {
  const { data } = await auth.getSession();
  $<HTMLElement>("whoami").textContent = data?.user?.email ?? "signed out";
}

function on(id: string, action: () => Promise<{ error?: { message?: string } | null } | void>) {
  $<HTMLButtonElement>(id).addEventListener("click", async () => {
    let message: string;
    let failed = true;
    try {
      const result = await action();
      failed = Boolean(result && result.error);
      message = failed ? `${id}: ${result!.error!.message ?? "failed"}` : `${id}: ok`;
    } catch (err) {
      message = `${id}: ${(err as Error).message}`;
    }
    // Status last, so whoever waits for it sees the page already up to date.
    await refreshWhoami();
    show(message, failed);
  });
}

on("sign-up", () => auth.signUp.email({ email: $("email").value, name: $("name").value || $("email").value, password: DEV_PASSWORD }));
on("register-passkey", async () => (await auth.passkey.addPasskey({ name: window.location.hostname })) ?? undefined);
on("sign-in-passkey", () => auth.signIn.passkey());
on("sign-out", () => auth.signOut());
on("set-active-org", async () => {
  const slug = $("org-slug").value;
  // Dev only: join the demo app first so switching to it is allowed (operators use `npm run apps -- grant`).
  const joined = await fetch("/dev/join", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slug }) });
  if (!joined.ok) return { error: { message: `join ${slug}: ${joined.status} ${await joined.text()}` } };
  return auth.organization.setActive({ organizationSlug: slug });
});
on("get-token", async () => {
  const res = await fetch("/api/auth/token", { credentials: "same-origin" });
  if (!res.ok) return { error: { message: `token: ${res.status}` } };
  const { token } = (await res.json()) as { token: string };
  const payload = token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
  $<HTMLElement>("token-claims").textContent = JSON.stringify(JSON.parse(atob(payload)), null, 2);
});

void refreshWhoami();
