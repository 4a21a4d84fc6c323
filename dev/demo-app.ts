/**
 * One demo app: serves the demo page and its script, proxies /api/auth/* to the auth service
 * (the proxy pattern every real app uses), and offers one dev-only shortcut, /dev/join.
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

export interface DemoAppOptions {
  /** e.g. "app-one": the page title and the organization it joins. */
  slug: string;
  authServiceUrl: string;
  rpId: string;
  pool: pg.Pool;
  /** The auth service's PROXY_SECRET: the proxy signs what it forwards with it. */
  proxySecret: string;
}

export function demoApp({ slug, authServiceUrl, rpId, pool, proxySecret }: DemoAppOptions): Hono {
  const page = readFileSync(join(here, "public", "index.html"), "utf8").replaceAll("__APP__", slug).replaceAll("__RP_ID__", rpId);
  const proxy = createAuthProxy({ authServiceUrl, secret: proxySecret, clientIp: () => "127.0.0.1" });
  const app = new Hono();

  app.get("/", (c) => c.html(page));
  app.get("/client.js", async (c) => c.body(await clientScript(), 200, { "content-type": "text/javascript; charset=utf-8" }));
  app.all("/api/auth/*", (c) => proxy(c.req.raw));

  // Dev only: make the signed-in person a `user` of the demo app named in the body, so the page
  // can show an org switch without the operator CLI.
  app.post("/dev/join", async (c) => {
    const { slug: target } = (await c.req.json().catch(() => ({}))) as { slug?: string };
    const session = await proxy(new Request(new URL("/api/auth/get-session", c.req.url), { headers: c.req.raw.headers }));
    const user = ((await session.json().catch(() => null)) as { user?: { id: string } } | null)?.user;
    if (!user) return c.json({ error: "signed_out" }, 401);
    const org = await pool.query<{ id: string }>(`SELECT id FROM "organization" WHERE slug = $1`, [target]);
    if (!org.rows[0]) return c.json({ error: "unknown_app", slug: target }, 404);
    await pool.query(
      `INSERT INTO "member" (id, "organizationId", "userId", role, "createdAt")
       SELECT $1, $2, $3, 'user', now() WHERE NOT EXISTS (SELECT 1 FROM "member" WHERE "organizationId" = $2 AND "userId" = $3)`,
      [`dev-${org.rows[0].id}-${user.id}`, org.rows[0].id, user.id],
    );
    return c.json({ ok: true });
  });
  return app;
}
