/**
 * A tool signing in through `make dev`'s OpenID Provider, the way any relying party would:
 * discovery at the issuer, authorization code + PKCE (S256) with state and nonce, a loopback
 * callback (RFC 8252: any port on 127.0.0.1 matches the registered one), the ID token validated
 * by openid-client, then userinfo. Prints the URL to open and, once you have signed in, the claims.
 *
 *   npx tsx dev/try-oidc.ts [--issuer https://auth.authplane.test:4443] [--client-id authplane-dev-tool]
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as oidc from "openid-client";
import { localHttpsFetch } from "./local-fetch.js";

export interface ToolSignInOptions {
  issuer: string;
  clientId: string;
  /** The local CA (`.dev/ca/ca.pem`). */
  ca: Buffer;
  /** Loopback port for the callback. @default 0 (any free one) */
  port?: number;
  /** Send the browser to the authorization URL (print it, or drive a test browser). */
  open: (url: string) => Promise<void> | void;
}

export interface ToolSignIn {
  redirectUri: string;
  idToken: Record<string, unknown>;
  userinfo: Record<string, unknown>;
}

export async function signInToTool({ issuer, clientId, ca, port = 0, open }: ToolSignInOptions): Promise<ToolSignIn> {
  const fetch = localHttpsFetch({ ca, domain: new URL(issuer).hostname.split(".").slice(1).join(".") });
  const config = await oidc.discovery(new URL(issuer), clientId, { token_endpoint_auth_method: "none" }, oidc.None(), { [oidc.customFetch]: fetch as oidc.CustomFetch });
  config[oidc.customFetch] = fetch as oidc.CustomFetch;

  let arrived!: (url: URL) => void;
  const callback = new Promise<URL>((resolve) => (arrived = resolve));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    if (url.pathname !== "/callback") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end("The tool received its code; back in the terminal it redeems it. You may close this tab.\n");
    arrived(url);
  });
  await new Promise<void>((done, fail) => server.once("error", fail).listen(port, "127.0.0.1", done));
  try {
    const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    const checks = { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: oidc.randomState(), expectedNonce: oidc.randomNonce() };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: "openid profile email",
      code_challenge: await oidc.calculatePKCECodeChallenge(checks.pkceCodeVerifier),
      code_challenge_method: "S256",
      state: checks.expectedState,
      nonce: checks.expectedNonce,
    });
    await open(url.toString());
    const tokens = await oidc.authorizationCodeGrant(config, await callback, checks);
    const idToken = tokens.claims()!;
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub);
    return { redirectUri, idToken, userinfo };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

const USAGE = `usage: npx tsx dev/try-oidc.ts [--issuer <url>] [--client-id <id>] [--port <n>] [--ca <file>]

  --issuer      the provider (make dev prints it)        [https://auth.authplane.test:4443]
  --client-id   the demo client                          [authplane-dev-tool]
  --port        loopback port for the callback           [8400]
  --ca          the local CA                             [.dev/ca/ca.pem]`;

async function main(): Promise<void> {
  let values: { issuer: string; "client-id": string; port: string; ca: string; help: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        issuer: { type: "string", default: "https://auth.authplane.test:4443" },
        "client-id": { type: "string", default: "authplane-dev-tool" },
        port: { type: "string", default: "8400" },
        ca: { type: "string", default: ".dev/ca/ca.pem" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) return console.log(USAGE);
  let ca: Buffer;
  try {
    ca = readFileSync(values.ca);
  } catch {
    console.error(`no local CA at ${values.ca}: start \`make dev\` first (it creates .dev/ca/)`);
    process.exit(1);
  }
  const result = await signInToTool({
    issuer: values.issuer,
    clientId: values["client-id"],
    ca,
    port: Number(values.port),
    open: (url) => console.log(`Open this in the browser you use for make dev (signed up on app-one first):\n\n  ${url}\n\nwaiting for the callback…`),
  });
  console.log(JSON.stringify({ id_token: result.idToken, userinfo: result.userinfo }, null, 2));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: Error) => {
    console.error(`the sign-in did not complete: ${err.message}`);
    process.exit(1);
  });
}
