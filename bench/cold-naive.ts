/**
 * bench:auth-cold's fixed naive entry: the service's entry as issue 12 found it, where everything
 * the service may need was imported up front (Better Auth with every plugin through
 * auth-routes.ts, the Secrets Manager client through the config), followed by today's handler.
 * A single-file bundle of it (`naive` in the JSON) is what the lazy chunks are measured against.
 * The single-file bundle of today's entry (`naive_same_entry`) no longer is that baseline: its
 * own dynamic imports defer Better Auth's evaluation too, so it moves with the work it measures.
 */
import "@aws-sdk/client-secrets-manager";
import "../functions/auth/auth-routes.js";

export { __benchInit, handler } from "../functions/auth/lambda.js";
