/**
 * `make dev`: the platform on this machine until Ctrl-C.
 *
 *   npm run dev [-- --domain authplane.test]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startPlatform } from "./platform.js";

const { values } = parseArgs({
  options: {
    domain: { type: "string", default: process.env.AUTHPLANE_DOMAIN ?? "authplane.test" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("usage: npm run dev [-- --domain <parent domain>]   (env AUTHPLANE_DOMAIN; DATABASE_URL to skip the embedded PostgreSQL)");
  process.exit(0);
}

const domain = values.domain;
const platform = await startPlatform({ domain, databaseUrl: process.env.DATABASE_URL });
const hosts = Object.values(platform.appUrls).map((u) => new URL(u).hostname);
console.log(`
authplane is running.

  auth service   ${platform.authUrl}
${Object.entries(platform.appUrls).map(([slug, url]) => `  ${slug.padEnd(14)} ${url}`).join("\n")}

One-time setup so the browser reaches and trusts the apps:
  1. map the names to this machine:   echo "127.0.0.1 ${hosts.join(" ")}" | sudo tee -a /etc/hosts
  2. trust the local CA:              ${resolve(platform.tls.caCertPath)}
     (Chromium/Chrome: Settings → Privacy and security → Security → Manage certificates → Authorities → Import;
      or start it with --host-resolver-rules="MAP *.${domain} 127.0.0.1" --ignore-certificate-errors-spki-list=${platform.tls.spkiSha256})

Sign up on ${Object.keys(platform.appUrls)[0]}, register a passkey, sign out, and sign in with it on ${Object.keys(platform.appUrls)[1]}:
both apps share the RP ID ${domain}. Ctrl-C stops everything.
`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\nstopping…");
  await platform.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
