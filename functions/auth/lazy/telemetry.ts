/**
 * Stand-in for `@better-auth/telemetry` inside the Lambda bundle (wired by functions/build.ts).
 * Better Auth calls `createTelemetry` on every init, but with no telemetry endpoint and no
 * custom tracker (authplane sets neither; `telemetry.enabled` is false) the real module returns
 * a no-op publisher before doing anything else. This returns the same without loading it; any
 * other case loads the real module and hands over. Both exports are async, so callers cannot
 * tell the difference.
 */
import { ENV } from "@better-auth/core/env";

type Real = typeof import("@better-auth/telemetry");

let real: Promise<Real> | undefined;
// The bundler resolves this specifier to the copy better-auth itself depends on.
// @ts-expect-error virtual module, see functions/build.ts
const load = (): Promise<Real> => (real ??= import("authplane:better-auth-telemetry"));

const noop = async function noop() {};

export const createTelemetry: Real["createTelemetry"] = async (options, context) => {
  // The real module's own first check (dist/index.mjs), in the same order.
  if (!ENV.BETTER_AUTH_TELEMETRY_ENDPOINT && !context?.customTrack) return { publish: noop };
  return (await load()).createTelemetry(options, context);
};

export const getTelemetryAuthConfig: Real["getTelemetryAuthConfig"] = async (...a) => (await load()).getTelemetryAuthConfig(...a);
