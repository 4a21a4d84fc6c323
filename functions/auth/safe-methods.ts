/**
 * A GET never changes which app a session has active. Better Auth's organization plugin clears
 * the active organization when `GET organization/get-organization` or `get-full-organization`
 * names one the caller is not a member of; a cross-site link or <img> (cookies go along on
 * top-level GETs with SameSite=Lax) could then change a signed-in person's state. The refusal
 * (403 USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION) still happens; only the write is dropped.
 *
 * Done as a database hook rather than per route, so any GET route (today's or a future plugin's)
 * is covered; session refreshes on GET (expiry sliding) touch other fields and pass.
 */
import type { BetterAuthPlugin } from "@better-auth/core";

/** Session fields only a state-changing method (POST) may write. */
const SELECTION_FIELDS = ["activeOrganizationId", "activeTeamId"];

type HookContext = { request?: { method?: string }; method?: string } | null | undefined;

function isSafeMethod(ctx: HookContext): boolean {
  const method = (ctx?.request?.method ?? ctx?.method ?? "").toUpperCase();
  return method === "GET" || method === "HEAD";
}

export const noSelectionChangeOnGet = () =>
  ({
    id: "authplane-no-selection-change-on-get",
    init() {
      return {
        options: {
          databaseHooks: {
            session: {
              update: {
                async before(data: Record<string, unknown>, ctx: HookContext) {
                  if (isSafeMethod(ctx) && SELECTION_FIELDS.some((f) => f in data)) return false;
                },
              },
            },
          },
        },
      };
    },
  }) satisfies BetterAuthPlugin;
