/**
 * A local certificate authority and one certificate for `<domain>` and `*.<domain>` of each
 * given parent domain, made with the openssl CLI (node:crypto cannot issue X.509). Generated once
 * into `dir` and reused, so a CA a developer trusted stays valid across runs.
 */
import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface LocalTls {
  caCertPath: string;
  key: Buffer;
  cert: Buffer;
  /** base64 SHA-256 of the leaf's public key, for Chromium's --ignore-certificate-errors-spki-list. */
  spkiSha256: string;
}

function openssl(args: string[]): void {
  try {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new Error("the openssl command is needed for the local certificates: apt-get install openssl");
    throw err;
  }
}

/**
 * `domains[0]` names the files; every domain gets itself and `*.<domain>` in the certificate. A
 * certificate made earlier for fewer names is replaced (the CA stays, so trust survives).
 */
export function ensureLocalTls(dir: string, domains: string | readonly string[]): LocalTls {
  const names = typeof domains === "string" ? [domains] : [...domains];
  const domain = names[0]!;
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, "ca.key");
  const caCert = join(dir, "ca.pem");
  if (!existsSync(caCert)) {
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", caKey, "-out", caCert, "-days", "825", "-subj", "/CN=authplane local development CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  }
  const leafKey = join(dir, `${domain}.key`);
  const leafCert = join(dir, `${domain}.pem`);
  const san = names.flatMap((d) => [`DNS:${d}`, `DNS:*.${d}`]).join(",");
  if (!existsSync(leafCert) || !coversAll(readFileSync(leafCert), names)) {
    const csr = join(dir, `${domain}.csr`);
    const ext = join(dir, `${domain}.ext`);
    writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
    openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", leafKey, "-out", csr, "-subj", `/CN=*.${domain}`]);
    openssl(["x509", "-req", "-in", csr, "-CA", caCert, "-CAkey", caKey, "-CAcreateserial", "-out", leafCert, "-days", "397", "-extfile", ext]);
  }
  const cert = readFileSync(leafCert);
  const spki = new X509Certificate(cert).publicKey.export({ type: "spki", format: "der" });
  return { caCertPath: caCert, key: readFileSync(leafKey), cert, spkiSha256: createHash("sha256").update(spki).digest("base64") };
}

function coversAll(pem: Buffer, names: readonly string[]): boolean {
  const cert = new X509Certificate(pem);
  return names.every((d) => cert.checkHost(d) !== undefined && cert.checkHost(`x.${d}`) !== undefined);
}
