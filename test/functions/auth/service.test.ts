import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, createLocalJWKSet, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JWT_ALG, JWT_TTL_SECONDS } from "../../../functions/claims.js";
import { APP_ONE, APP_TWO, AUDIENCE, AUTH_URL, Browser, startService, testEnv, type Service } from "./harness.js";

async function createApp(service: Service, slug: string, roles: Record<string, Record<string, string[]>>) {
  const { rows } = await service.pool.query<{ id: string }>(
    `INSERT INTO "organization" (id, name, slug, "createdAt") VALUES ($1, $1, $1, now()) RETURNING id`,
    [slug],
  );
  const orgId = rows[0]!.id;
  for (const [role, permission] of Object.entries(roles)) {
    await service.pool.query(
      `INSERT INTO "organizationRole" (id, "organizationId", role, permission, "createdAt") VALUES ($1, $2, $3, $4, now())`,
      [`${slug}-${role}`, orgId, role, JSON.stringify(permission)],
    );
  }
  return orgId;
}

async function grant(service: Service, orgId: string, userId: string, role: string) {
  await service.pool.query(`INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt") VALUES ($1, $2, $3, $4, now())`, [
    `${orgId}-${userId}`,
    orgId,
    userId,
    role,
  ]);
}

describe("auth service against PostgreSQL", () => {
  let service: Service;
  let jwks: JSONWebKeySet;

  beforeAll(async () => {
    service = await startService(await testEnv("auth_service"));
  });
  afterAll(() => service.close());

  it("signs up, keeps a session cookie and reports the user", async () => {
    const browser = new Browser(service, APP_ONE);
    const { user } = await browser.signUp("ada@example.org");
    const session = await browser.json<{ user: { id: string; email: string } }>("/api/auth/get-session");
    expect(session.user).toMatchObject({ id: user.id, email: "ada@example.org" });
  });

  it("session cookies are HttpOnly, Secure and SameSite=Lax", async () => {
    const browser = new Browser(service, APP_ONE);
    const res = await browser.fetch("/api/auth/sign-up/email", { body: { email: "cookie@example.org", name: "c", password: "correct horse battery staple" } });
    const cookie = res.headers.getSetCookie().find((c) => c.includes("session_token"));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
  });

  it("mints RS256 JWTs for the active app whose claims follow the role and org switch", async () => {
    const hiring = await createApp(service, "hiring", { recruiter: { candidate: ["read", "write"] }, "hiring-admin": { candidate: ["read", "write", "delete"], job: ["publish"] } });
    const time = await createApp(service, "timetracking", { user: { timesheet: ["read", "write"] } });
    const browser = new Browser(service, APP_ONE);
    const { user } = await browser.signUp("grace@example.org");
    await grant(service, hiring, user.id, "recruiter");
    await grant(service, time, user.id, "user");

    const noOrg = await browser.json<{ token: string }>("/api/auth/token");
    jwks = await browser.json<JSONWebKeySet>("/api/auth/jwks");
    const verify = (token: string) => jwtVerify(token, createLocalJWKSet(jwks), { issuer: AUTH_URL, audience: AUDIENCE, algorithms: [JWT_ALG] });
    const plain = await verify(noOrg.token);
    expect(decodeProtectedHeader(noOrg.token).alg).toBe("RS256");
    expect(plain.payload).toMatchObject({ sub: user.id, email: "grace@example.org", org_id: null, role: null, permissions: {} });
    expect(plain.payload.exp! - plain.payload.iat!).toBe(JWT_TTL_SECONDS);

    await browser.json("/api/auth/organization/set-active", { body: { organizationId: hiring } });
    const inHiring = await verify((await browser.json<{ token: string }>("/api/auth/token")).token);
    expect(inHiring.payload).toMatchObject({ org_id: hiring, org_slug: "hiring", role: "recruiter", permissions: { candidate: ["read", "write"] } });

    await browser.json("/api/auth/organization/set-active", { body: { organizationId: time } });
    const inTime = await verify((await browser.json<{ token: string }>("/api/auth/token")).token);
    expect(inTime.payload).toMatchObject({ org_slug: "timetracking", role: "user", permissions: { timesheet: ["read", "write"] } });

    await service.pool.query(`UPDATE "member" SET role = 'recruiter,hiring-admin' WHERE "organizationId" = $1 AND "userId" = $2`, [hiring, user.id]);
    await browser.json("/api/auth/organization/set-active", { body: { organizationId: hiring } });
    const promoted = await verify((await browser.json<{ token: string }>("/api/auth/token")).token);
    expect(promoted.payload.permissions).toEqual({ candidate: ["delete", "read", "write"], job: ["publish"] });
  });

  it("a user cannot make an app active that they are not a member of", async () => {
    const browser = new Browser(service, APP_TWO);
    await browser.signUp("outsider@example.org");
    const res = await browser.fetch("/api/auth/organization/set-active", { body: { organizationId: "hiring" } });
    expect(res.status).toBe(403);
  });

  it("keeps one signing key across many tokens (rotation is by interval, not per request)", async () => {
    const browser = new Browser(service, APP_ONE);
    await browser.signUp("many@example.org");
    for (let i = 0; i < 5; i++) await browser.json("/api/auth/token");
    const { rows } = await service.pool.query(`SELECT count(*)::int AS n FROM "jwks"`);
    expect(rows[0].n).toBe(1);
  });

  it("the JWKS is served to remote verifiers at the stable path", async () => {
    const res = await new Browser(service, APP_ONE).fetch("/api/auth/jwks");
    expect(res.status).toBe(200);
    const body = (await res.json()) as JSONWebKeySet;
    expect(body.keys[0]).toMatchObject({ kty: "RSA", alg: "RS256" });
    expect(body.keys[0]).not.toHaveProperty("d");
  });
});
