/**
 * One demo app: serves the demo page and its script, proxies /api/auth/* to the auth service
 * (the proxy pattern every real app uses), and offers dev-only shortcuts under /dev/ (joining a
 * demo app, which operators do with `npm run apps -- grant`).
 */
import { build } from "esbuild";
import { Hono } from "hono";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { createAuthProxy } from "../functions/proxy/index.js";

const here = dirname(fileURLToPath(import.meta.url));
let clientBundle: Promise<string> | undefined;

/** The page script with the Better Auth client, bundled once per process. */
function clientScript(): Promise<string> {
  clientBundle ??= build({
    entryPoints: [join(here, "client.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "error",
  }).then((r) => r.outputFiles[0]!.text);
  return clientBundle;
}

/** What the page knows about the platform around it (embedded as JSON, read by client.ts). */
export interface PageContext {
  app: string;
  rpId: string;
  /** Every demo app: where its page is and where its demo API is behind the local gateway. */
  apps: { slug: string; url: string; apiUrl: string }[];
  /** The label of the Google button's provider ("Google" or "local stand-in"). */
  google: string | null;
  emailPassword: boolean;
  /** This app is on another registrable domain than the RP ID (Related Origin Requests). */
  related: boolean;
}

export interface DemoAppOptions {
  /** e.g. "app-one": the page title and the organization it joins. */
  slug: string;
  authServiceUrl: string;
  rpId: string;
  pool: pg.Pool;
  /** @default just this app, without an API */
  apps?: PageContext["apps"];
  /** @default null (no Google button) */
  google?: string | null;
  /** @default true */
  emailPassword?: boolean;
  /** @default false */
  related?: boolean;
  /** The auth service's PROXY_SECRET: the proxy signs what it forwards with it. */
  proxySecret: string;
}

const ROLES = new Set(["user", "viewer"]);

export function demoApp({ slug, authServiceUrl, rpId, pool, apps, google = null, emailPassword = true, related = false, proxySecret }: DemoAppOptions): Hono {
  const context: PageContext = { app: slug, rpId, apps: apps ?? [{ slug, url: "", apiUrl: "" }], google, emailPassword, related };
  // JSON inside <script>: escape "<" so no value can close the element.
  const page = readFileSync(join(here, "public", "index.html"), "utf8")
    .replaceAll("__APP__", slug)
    .replaceAll("__RP_ID__", rpId)
    .replace("__CONTEXT__", JSON.stringify(context).replace(/</g, "\\u003c"));
  const proxy = createAuthProxy({ authServiceUrl, secret: proxySecret, clientIp: () => "127.0.0.1" });
  const app = new Hono();

  app.get("/", (c) => c.html(page, 200, { "cache-control": "no-store" }));
  app.get("/client.js", async (c) => c.body(await clientScript(), 200, { "content-type": "text/javascript; charset=utf-8" }));
  // An app outside the parent domain cannot hold the parent-domain SSO cookie (the browser
  // refuses it); its session stays host-only, so the proxy drops the Domain attribute.
  app.all("/api/auth/*", async (c) => (related ? hostOnlyCookies(await proxy(c.req.raw)) : proxy(c.req.raw)));

  // Dev only: make the signed-in person a member (`user`, or `viewer` who may only read) of the
  // demo app named in the body, so the page can show switching without the operator CLI.
  app.post("/dev/join", async (c) => {
    const { slug: target, role = "user" } = (await c.req.json().catch(() => ({}))) as { slug?: unknown; role?: unknown };
    if (typeof target !== "string" || typeof role !== "string" || !ROLES.has(role)) {
      return c.json({ error: "invalid_request", message: "send {\"slug\": \"app-one\", \"role\": \"user\" | \"viewer\"}" }, 400);
    }
    const session = await proxy(new Request(new URL("/api/auth/get-session", c.req.url), { headers: c.req.raw.headers }));
    const user = ((await session.json().catch(() => null)) as { user?: { id: string } } | null)?.user;
    if (!user) return c.json({ error: "signed_out", message: "sign in first" }, 401);
    const org = await pool.query<{ id: string }>(`SELECT id FROM "organization" WHERE slug = $1`, [target]);
    if (!org.rows[0]) return c.json({ error: "unknown_app", message: `there is no app ${target}` }, 404);
    const changed = await pool.query(`UPDATE "member" SET role = $3 WHERE "organizationId" = $1 AND "userId" = $2`, [org.rows[0].id, user.id, role]);
    if (!changed.rowCount) {
      await pool.query(
        `INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt") VALUES ($1, $2, $3, $4, now()) ON CONFLICT (id) DO NOTHING`,
        [`dev-${org.rows[0].id}-${user.id}`, org.rows[0].id, user.id, role],
      );
    }
    return c.json({ ok: true, slug: target, role });
  });
  return app;
}

function hostOnlyCookies(res: Response): Response {
  const cookies = res.headers.getSetCookie();
  if (!cookies.length) return res;
  const headers = new Headers(res.headers);
  headers.delete("set-cookie");
  for (const cookie of cookies) headers.append("set-cookie", cookie.replace(/;\s*domain=[^;]*/gi, ""));
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}
