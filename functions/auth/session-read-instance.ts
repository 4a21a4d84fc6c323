/**
 * A cold instance answers its first session reads without building the OpenID Provider.
 *
 * Better Auth builds every plugin when its options are built, and the provider
 * (@better-auth/oauth-provider: ~30 endpoints with their zod schemas, its init and router
 * entries) was about a seventh of a cold start's CPU, although a session read never uses it.
 * So until a request needs more, `GET /api/auth/get-session` goes to a second instance built
 * from the same options minus the provider and its membership gate (auth.ts
 * `sessionReadOptions`); the first other request builds the full instance, which then answers
 * everything, session reads included.
 *
 * Why the answer is the same: on a GET the provider's `onRequest` acts only on its metadata
 * paths, its before hooks only on a body's `oauth_query` or /oauth2/* paths, and its after hook
 * (on a response that sets the session cookie) only when an OAuth flow left state in the
 * request, which a get-session never has. Its schema adds only its own tables. What remains is
 * its hook on session deletion (back-channel logout), which get-session runs when the session
 * has expired: `deferSessionDeletes`, listed first, refuses that deletion before any other
 * hook runs (so nothing is written) and marks the request, and `readOrDefer` then throws the
 * answer away and lets the full instance handle the request from the start.
 */
import type { BetterAuthPlugin } from "better-auth";
import { AsyncLocalStorage } from "node:async_hooks";

const deferral = new AsyncLocalStorage<{ deferred: boolean }>();

/** First plugin of the read instance: no session row is deleted there; the full instance does it. */
export const deferSessionDeletes = {
  id: "authplane-defer-session-deletes",
  init() {
    return {
      options: {
        databaseHooks: {
          session: {
            delete: {
              async before() {
                const state = deferral.getStore();
                if (state) state.deferred = true;
                // false: Better Auth skips the deletion and every later hook.
                return false;
              },
            },
          },
        },
      },
    };
  },
} satisfies BetterAuthPlugin;

/** The requests the read instance may answer: session reads, whatever their query options. */
export function isSessionRead(req: Request, basePath = "/api/auth"): boolean {
  return req.method === "GET" && new URL(req.url).pathname === `${basePath}/get-session`;
}

/**
 * `read`'s answer, unless it deferred a session deletion: then `full()`'s. Only for bodiless
 * requests (a session read), so the same Request can be handled twice.
 */
export async function readOrDefer(read: (req: Request) => Promise<Response>, full: () => (req: Request) => Promise<Response>, req: Request): Promise<Response> {
  const state = { deferred: false };
  const res = await deferral.run(state, () => read(req));
  if (!state.deferred) return res;
  await res.body?.cancel();
  return full()(req);
}
