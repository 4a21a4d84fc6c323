/**
 * Real headless Chromium (Debian's `chromium`, driven by playwright-core) for passkey flows,
 * with a CDP virtual authenticator standing in for the platform authenticator.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter(Boolean) as string[];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      "Chromium not found. Install Debian's package (as root: apt-get install -y chromium; `make test` does this itself when root) or set CHROMIUM_PATH.",
    );
  }
  return found;
}

export interface LaunchOptions {
  domain: string;
  spkiSha256: string;
  /** More parent domains whose subdomains resolve to loopback (apps on other registrable domains). */
  extraDomains?: string[];
  /**
   * Send every connection for these hosts to a loopback port, e.g. the
   * RP ID's own origin, which browsers fetch /.well-known/webauthn from on port 443.
   */
  hostPorts?: Record<string, number>;
}

/** Resolve `*.<domain>` to loopback and trust exactly one certificate, by its public key pin. */
export function launchChromium({ domain, spkiSha256, extraDomains = [], hostPorts = {} }: LaunchOptions): Promise<Browser> {
  // The resolver's rules may rewrite the port too, and apply to the browser's own fetches
  // (such as /.well-known/webauthn), not only to pages.
  const rules = [
    ...Object.entries(hostPorts).map(([host, port]) => `MAP ${host} 127.0.0.1:${port}`),
    ...[domain, ...extraDomains].map((d) => `MAP *.${d} 127.0.0.1`),
  ];
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      `--host-resolver-rules=${rules.join(", ")}`,
      `--ignore-certificate-errors-spki-list=${spkiSha256}`,
      // Nothing of Chromium's own phoning home: CI machines have no general internet access.
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      "--no-first-run",
      ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
    ],
  });
}

/** A resident-key, user-verifying platform authenticator on this page (it survives navigation). */
export async function addVirtualAuthenticator(page: Page): Promise<string> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return authenticatorId;
}
