/**
 * Stand-in for Better Auth's `db/get-migration.mjs` inside the Lambda bundle, as imported by its
 * `context/init.mjs` (wired by functions/build.ts). Init only wraps it in `ctx.runMigrations`,
 * which authplane never calls on a request (`migrate.ts` imports the real module itself), so the
 * schema differ loads when something runs migrations, not at every cold start. `getMigrations`
 * is already async, so callers cannot tell the difference.
 */
type Real = typeof import("better-auth/db/migration");

let real: Promise<Real> | undefined;
// The bundler resolves this specifier to the very file init.mjs imports.
// @ts-expect-error virtual module, see functions/build.ts
const load = (): Promise<Real> => (real ??= import("authplane:better-auth-get-migration"));

export const getMigrations: Real["getMigrations"] = async (...a) => (await load()).getMigrations(...a);
