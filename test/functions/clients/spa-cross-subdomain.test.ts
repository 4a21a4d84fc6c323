/**
 * Pattern 2: an SPA on https://spa.authplane.test calls the auth service on
 * https://auth.authplane.test directly, with credentials, in a real Chromium. The cookie is
 * scoped to the parent domain (HttpOnly, Secure, SameSite=Lax) and CORS grants exactly the
 * trusted origins.
 */
import type { Server } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { freePort } from "../../support/postgres.js";
import { baseEnv, CookieJar, startAuth, type AuthApp } from "./fixture.js";
import { launchBrowser, serveHttps, testCertificate } from "./https-browser.js";

const PARENT = "authplane.test";

describe("SPA on a sibling subdomain (cookie + domain + CORS)", () => {
  let auth: AuthApp;
  let servers: Server[] = [];
  let browser: Browser;
  let AUTH: string;
  let SPA: string;
  let OUTSIDER: string;

  beforeAll(async () => {
    const tls = await testCertificate([PARENT, `*.${PARENT}`]);
    const [authPort, spaPort] = [await freePort(), await freePort()];
    AUTH = `https://auth.${PARENT}:${authPort}`;
    SPA = `https://spa.${PARENT}:${spaPort}`;
    OUTSIDER = `https://outsider.${PARENT}:${spaPort}`;
    auth = await startAuth(
      {
        ...(await baseEnv("spa")),
        BETTER_AUTH_URL: AUTH,
        TRUSTED_ORIGINS: `${AUTH},${SPA}`,
        JWT_ISSUER: AUTH,
        COOKIE_DOMAIN: `.${PARENT}`,
      },
      { origin: AUTH },
    );
    // The SPA is a static page; the same server answers for the outsider's host name.
    const spaPage = async () => new Response("<!doctype html><title>spa</title>", { headers: { "content-type": "text/html" } });
    servers = [await serveHttps(auth.app.fetch, authPort, tls), await serveHttps(spaPage, spaPort, tls)];
    browser = await launchBrowser({ parent: PARENT, trustSpki: tls.spkiSha256 });
  });
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) s.close();
  });

  /** fetch() inside the page, the way an SPA's auth client does it. */
  const call = (page: Page, path: string, body?: unknown) =>
    page.evaluate(
      async ({ url, body }) => {
        try {
          const res = await fetch(url, {
            method: body ? "POST" : "GET",
            credentials: "include",
            headers: body ? { "content-type": "application/json" } : {},
            body: body ? JSON.stringify(body) : undefined,
          });
          return { status: res.status, json: await res.json().catch(() => null) };
        } catch (err) {
          return { error: String(err) };
        }
      },
      { url: `${AUTH}${path}`, body },
    );

  it("an SPA signs up across subdomains and is still signed in after a reload", async () => {
    const page = await browser.newPage();
    await page.goto(SPA);
    const up = await call(page, "/api/auth/sign-up/email", { email: "spa@example.org", password: "correct horse battery", name: "Spa" });
    expect(up).toMatchObject({ status: 200 });

    const [cookie] = (await page.context().cookies(AUTH)).filter((c) => c.name.endsWith("session_token"));
    expect(cookie).toMatchObject({ domain: `.${PARENT}`, httpOnly: true, secure: true, sameSite: "Lax" });
    expect(await page.evaluate(() => document.cookie)).not.toContain("session_token");

    await page.reload();
    const session = await call(page, "/api/auth/get-session");
    expect(session).toMatchObject({ status: 200, json: { user: { email: "spa@example.org" } } });

    expect(await call(page, "/api/auth/sign-out", {})).toMatchObject({ status: 200 });
    expect(await call(page, "/api/auth/get-session")).toMatchObject({ status: 200, json: null });
    const back = await call(page, "/api/auth/sign-in/email", { email: "spa@example.org", password: "correct horse battery" });
    expect(back).toMatchObject({ status: 200 });
    await page.reload();
    expect(await call(page, "/api/auth/get-session")).toMatchObject({ json: { user: { email: "spa@example.org" } } });
    await page.close();
  });

  it("an origin outside the list gets no CORS grant and the browser's fetch fails", async () => {
    const page = await browser.newPage();
    await page.goto(OUTSIDER);
    expect(await call(page, "/api/auth/get-session")).toMatchObject({ error: expect.stringContaining("Failed to fetch") });
    expect(await call(page, "/api/auth/sign-in/email", { email: "spa@example.org", password: "x" })).toMatchObject({
      error: expect.stringContaining("Failed to fetch"),
    });
    await page.close();
  });

  it("Set-Cookie is HttpOnly, Secure, SameSite=Lax on the parent domain; cookie writes from an untrusted origin are refused", async () => {
    const jar = new CookieJar();
    const res = jar.absorb(
      await auth.request("/api/auth/sign-in/email", {
        method: "POST",
        headers: { "content-type": "application/json", origin: SPA },
        body: JSON.stringify({ email: "spa@example.org", password: "correct horse battery" }),
      }),
    );
    expect(res.headers.get("access-control-allow-origin")).toBe(SPA);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    const session = res.headers.getSetCookie().find((c) => c.includes("session_token="))!;
    expect(session).toMatch(/; Domain=\.?authplane\.test/i);
    expect(session).toMatch(/; HttpOnly/i);
    expect(session).toMatch(/; Secure/i);
    expect(session).toMatch(/; SameSite=Lax/i);

    const forged = await auth.request("/api/auth/update-user", {
      method: "POST",
      headers: { "content-type": "application/json", origin: OUTSIDER, cookie: jar.header() },
      body: JSON.stringify({ name: "pwned" }),
    });
    expect(forged.status).toBe(403);
    expect(forged.headers.get("access-control-allow-origin")).toBeNull();
  });
});
