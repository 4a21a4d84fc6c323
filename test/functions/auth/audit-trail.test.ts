/**
 * The service's audit trail for membership changes made through Better Auth's organization
 * endpoints, over HTTP and through `auth.api` on the server, against the real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ONE, Browser, startService, testEnv, type Service } from "./harness.js";

describe("audit trail: membership changes", () => {
  let service: Service;
  let org: string;
  let owner: Browser;
  let ownerId: string;
  const trail = async (action: string) =>
    (await service.pool.query(`SELECT actor, subject, app, ip, outcome, detail FROM authplane_audit WHERE action = $1 ORDER BY id`, [action])).rows;
  /** A session of the owner's, as a server-side caller of auth.api would forward it. */
  const ownerHeaders = async () => {
    const { headers } = await service.auth.api.signInEmail({ body: { email: "owner@example.org", password: "correct horse battery staple" }, returnHeaders: true });
    const cookie = headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    const session = new Headers({ cookie });
    await service.auth.api.setActiveOrganization({ headers: session, body: { organizationId: org } });
    return session;
  };

  beforeAll(async () => {
    service = await startService(await testEnv("audit_members"));
    org = (
      await service.pool.query(`INSERT INTO "organization" (id, name, slug, "createdAt") VALUES ('org-hiring', 'Hiring', 'hiring', now()) RETURNING id`)
    ).rows[0].id;
    owner = new Browser(service, APP_ONE);
    ownerId = (await owner.signUp("owner@example.org")).user.id;
    await service.pool.query(`INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt") VALUES ('m-owner', $1, $2, 'owner', now())`, [org, ownerId]);
    await owner.json("/api/auth/organization/set-active", { body: { organizationId: org } });
  });
  afterAll(() => service.close());

  it("add-member on the server (auth.api, no request) is recorded with the person, the app and the role", async () => {
    const { user } = await new Browser(service, APP_ONE).signUp("added@example.org");
    await service.auth.api.addMember({ body: { userId: user.id, organizationId: org, role: "member" } });
    expect(await trail("membership.add")).toEqual([
      { actor: null, subject: "added@example.org", app: "hiring", ip: null, outcome: "success", detail: { role: "member", user_id: user.id, via: "server" } },
    ]);
  });

  it("update-member-role and remove-member through auth.api with the owner's session name the owner as actor", async () => {
    const headers = await ownerHeaders();
    const member = (await service.pool.query(`SELECT m.id FROM "member" m JOIN "user" u ON u.id = m."userId" WHERE u.email = 'added@example.org'`)).rows[0].id;
    await service.auth.api.updateMemberRole({ headers, body: { memberId: member, role: "admin", organizationId: org } });
    await service.auth.api.removeMember({ headers, body: { memberIdOrEmail: "added@example.org", organizationId: org } });
    expect(await trail("membership.update_role")).toEqual([
      expect.objectContaining({ actor: ownerId, subject: "added@example.org", app: "hiring", outcome: "success", detail: expect.objectContaining({ role: "admin", previous_role: "member" }) }),
    ]);
    expect(await trail("membership.remove")).toEqual([expect.objectContaining({ actor: ownerId, subject: "added@example.org", app: "hiring", outcome: "success" })]);
  });

  it("an invitation accepted over HTTP is recorded for the invitee, with the client address", async () => {
    const invitation = await owner.json<{ id: string }>("/api/auth/organization/invite-member", { body: { email: "invitee@example.org", role: "member", organizationId: org } });
    const invitee = new Browser(service, APP_ONE);
    const { user } = await invitee.signUp("invitee@example.org");
    await service.pool.query(`UPDATE "user" SET "emailVerified" = true WHERE id = $1`, [user.id]);
    const res = await invitee.fetch("/api/auth/organization/accept-invitation", { body: { invitationId: invitation.id } });
    expect(res.status).toBe(200);
    expect(await trail("membership.accept_invitation")).toEqual([
      expect.objectContaining({ actor: user.id, subject: "invitee@example.org", app: "hiring", ip: invitee.ip, outcome: "success", detail: expect.objectContaining({ role: "member" }) }),
    ]);
  });

  it("a refused change is recorded as a failure, and never carries a session token", async () => {
    const headers = await ownerHeaders();
    await expect(service.auth.api.updateMemberRole({ headers, body: { memberId: "no-such-member", role: "admin", organizationId: org } })).rejects.toMatchObject({ statusCode: 400 });
    const failures = (await trail("membership.update_role")).filter((r) => r.outcome === "failure");
    expect(failures).toEqual([expect.objectContaining({ actor: ownerId, app: "hiring", detail: expect.objectContaining({ error: expect.any(String) }) })]);
    const all = JSON.stringify((await service.pool.query(`SELECT * FROM authplane_audit`)).rows);
    for (const { token } of (await service.pool.query(`SELECT token FROM "session"`)).rows) expect(all).not.toContain(token);
  });
});
