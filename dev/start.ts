/**
 * `make dev`: the platform on this machine until Ctrl-C.
 *
 *   npm run dev [-- --domain authplane.test]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { PortBusyError, startPlatform } from "./platform.js";

const USAGE = `usage: npm run dev [-- --domain <parent domain>]

  --domain   parent domain of the apps and the passkey RP ID (env AUTHPLANE_DOMAIN) [authplane.test]

environment:
  DATABASE_URL                             use this PostgreSQL instead of the embedded one in .dev/pg
  GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET   the real Google instead of the local stand-in`;

let values: { domain: string; help: boolean };
try {
  ({ values } = parseArgs({
    options: {
      domain: { type: "string", default: process.env.AUTHPLANE_DOMAIN ?? "authplane.test" },
      help: { type: "boolean", short: "h", default: false },
    },
  }));
} catch (err) {
  console.error(`${(err as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const domain = values.domain;
const google =
  process.env.GOOGLE_CLIENT_ID && process.env.GOOGLE_CLIENT_SECRET ? { clientId: process.env.GOOGLE_CLIENT_ID, clientSecret: process.env.GOOGLE_CLIENT_SECRET } : undefined;

const platform = await startPlatform({ domain, databaseUrl: process.env.DATABASE_URL, google, gatewayPort: 3003, rpOriginPort: 3443, googlePort: 4001, issuerPort: 4443 }).catch((err: Error) => {
  // A known failure is one line saying what to do, not a stack trace.
  console.error(`\nmake dev could not start: ${err instanceof PortBusyError ? err.message : err.message || String(err)}\n`);
  process.exit(err instanceof PortBusyError ? 3 : 1);
});

const hosts = [...new Set([...Object.values(platform.appUrls), ...Object.values(platform.apiUrls), platform.rpOriginUrl, platform.issuer].map((u) => new URL(u).hostname))];
const rpPort = new URL(platform.rpOriginUrl).port;
const pad = (s: string) => s.padEnd(16);
console.log(`
authplane is running.

  ${pad("auth service")} ${platform.authUrl}
${Object.entries(platform.appUrls)
  .map(([slug, url]) => `  ${pad(slug)} ${url}${platform.relatedOrigins.includes(url) ? "   (another domain: Related Origin Requests)" : ""}`)
  .join("\n")}
  ${pad("demo APIs")} ${Object.values(platform.apiUrls).join("  ")}   (local API gateway + the real authorizer)
  ${pad("OpenID Provider")} ${platform.issuer}/.well-known/openid-configuration
  ${pad("")} demo client ${platform.oidcClient.clientId} (public, PKCE S256, redirect ${platform.oidcClient.redirectUris[0]}), for members of ${platform.oidcClient.app}
  ${pad("RP ID origin")} ${platform.rpOriginUrl}/.well-known/webauthn
  ${pad("Google")} ${platform.google.kind === "local" ? `${platform.google.issuer}   (local stand-in with a consent page; set GOOGLE_CLIENT_ID/SECRET for the real one)` : "accounts.google.com (GOOGLE_CLIENT_ID)"}
  ${pad("database")} ${platform.databaseUrl}${platform.databaseUrlFile ? `\n  ${pad("")} (kept in ${resolve(platform.databaseUrlFile)}; npm run apps and the other CLIs use it when DATABASE_URL is unset)` : ""}

One-time setup so the browser reaches and trusts the apps:
  1. map the names to this machine:   echo "127.0.0.1 ${hosts.join(" ")}" | sudo tee -a /etc/hosts
  2. trust the local CA:              ${resolve(platform.tls.caCertPath)}
     (Chromium/Chrome: Settings → Privacy and security → Security → Manage certificates → Authorities → Import)
  3. app-three on another domain needs https://${domain}/.well-known/webauthn on port 443, which is ${rpPort} here:
     sudo socat TCP-LISTEN:443,fork,reuseaddr TCP:127.0.0.1:${rpPort}   (or the Chromium flags below)
  Or all at once, with no setup:
     chromium --user-data-dir=$(mktemp -d) --ignore-certificate-errors-spki-list=${platform.tls.spkiSha256} \\
       --host-resolver-rules="${[`MAP ${domain} 127.0.0.1:${rpPort}`, ...platform.domains.map((d) => `MAP *.${d} 127.0.0.1`)].join(", ")}" \\
       ${Object.values(platform.appUrls)[0]}

Sign up on ${Object.keys(platform.appUrls)[0]}, add a passkey, sign out, and sign in with it on ${Object.keys(platform.appUrls).slice(1).join(" and ")}:
every app shares the RP ID ${domain}. Then sign in to a tool with the same account, through the
OpenID Provider: \`npx tsx dev/try-oidc.ts --issuer ${platform.issuer}\` plays the tool (code + PKCE,
loopback callback) and prints the ID token's claims; any other relying party works with the issuer
and client id ${platform.oidcClient.clientId} (docs/oidc.md, "Try it locally"). Ctrl-C stops everything.
`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write("\nstopping… ");
  await platform.stop();
  process.stdout.write("stopped.\n");
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
