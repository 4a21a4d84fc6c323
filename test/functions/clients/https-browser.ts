/**
 * HTTPS on loopback under real host names, and a Chromium that resolves them to 127.0.0.1 and
 * trusts the test certificate by its SPKI pin (no system trust store touched).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createHash, X509Certificate } from "node:crypto";
import { serve } from "@hono/node-server";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../support/chromium.js";

const run = promisify(execFile);

export interface TestCertificate {
  key: Buffer;
  cert: Buffer;
  /** base64 SHA-256 of the SubjectPublicKeyInfo, for --ignore-certificate-errors-spki-list. */
  spkiSha256: string;
}

/** A self-signed P-256 certificate for the given DNS names (openssl; node:crypto cannot issue X.509). */
export async function testCertificate(names: string[]): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), "authplane-tls-"));
  try {
    await run("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2",
      "-subj", `/CN=${names[0]}`, "-addext", `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`,
    ]);
    const [key, cert] = await Promise.all([readFile(join(dir, "key.pem")), readFile(join(dir, "cert.pem"))]);
    const spki = new X509Certificate(cert).publicKey.export({ type: "spki", format: "der" });
    return { key, cert, spkiSha256: createHash("sha256").update(spki).digest("base64") };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function serveHttps(
  fetch: (req: Request) => Response | Promise<Response>,
  port: number,
  tls: TestCertificate,
): Promise<Server> {
  const server = serve({
    fetch,
    port,
    hostname: "127.0.0.1",
    createServer,
    serverOptions: { key: tls.key, cert: tls.cert },
  }) as Server;
  if (!server.listening) await new Promise((resolve) => server.once("listening", resolve));
  return server;
}

/** Chromium with `*.<parent>` names on loopback and one pinned certificate (see test/support/chromium.ts). */
export function launchBrowser(opts: { parent: string; trustSpki: string }): Promise<Browser> {
  return launchChromium({ domain: opts.parent, spkiSha256: opts.trustSpki });
}
