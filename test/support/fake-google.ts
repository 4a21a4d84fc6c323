/**
 * A fake Google on loopback: an OAuth 2.0 / OpenID Connect provider with discovery, an
 * authorize endpoint that consents at once (302 back to redirect_uri), a token endpoint that
 * checks client credentials, redirect_uri and PKCE, a JWKS endpoint, and RS256 ID tokens it
 * signs itself with jose. Better Auth talks to it over real HTTP, so its OAuth code path runs
 * unchanged; only the issuer differs from accounts.google.com.
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

export async function startFakeGoogle(opts: { clientId?: string; clientSecret?: string } = {}): Promise<FakeGoogle> {
  const clientId = opts.clientId ?? "fake-google-client.apps.googleusercontent.com";
  const clientSecret = opts.clientSecret ?? "fake-google-secret";
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const kid = randomBytes(8).toString("hex");
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const codes = new Map<string, PendingCode>();
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
      const code = randomBytes(16).toString("hex");
      codes.set(code, {
        clientId,
        redirectUri,
        codeChallenge: q.get("code_challenge") ?? undefined,
        nonce: q.get("nonce") ?? undefined,
        user,
        expiresAt: Date.now() + 60_000,
      });
      const back = new URL(redirectUri);
      back.searchParams.set("code", code);
      const st = q.get("state");
      if (st) back.searchParams.set("state", st);
      res.writeHead(302, { location: back.toString() });
      return res.end();
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

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => json(res, 500, { error: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
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
