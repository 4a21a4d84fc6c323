/**
 * Lambda entry (bundled to dist/functions/authorizer/index.mjs, handler `index.handler`). The
 * authorizer is built once per instance from the environment; a bad environment does not crash the
 * instance but denies every request with ERR_AUTHORIZER_CONFIG and a message naming the variable.
 */
import { createAuthorizer, safeDeny, writeLogLine, type Authorizer } from "./authorizer.js";
import { configFromEnv } from "./config.js";
import { DENY } from "./deny-codes.js";
import { eventKind, type AuthorizerResponse } from "./events.js";
import { denyDocument } from "./metrics.js";

let instance: Authorizer | undefined;

function authorizer(): Authorizer | string {
  if (instance) return instance;
  try {
    instance = createAuthorizer(configFromEnv(process.env));
    // The first copy of the revocation feed loads while the first token is parsed and verified.
    void instance.revocations?.refresh();
    return instance;
  } catch (error) {
    return error instanceof Error ? error.message : "invalid configuration";
  }
}

export async function handler(event: unknown): Promise<AuthorizerResponse> {
  const ready = authorizer();
  if (typeof ready !== "string") return ready.handle(event);
  let kind: ReturnType<typeof eventKind> = "unknown";
  try {
    kind = eventKind(event);
  } catch {
    // keep "unknown"
  }
  // No authorizer, so no counters: the log line is itself the EMF document, so each of these
  // denies reaches the fault alarm (modules/monitoring.ts) with nothing held in memory.
  writeLogLine({ ...denyDocument(DENY.config, 1, Date.now()), level: "error", msg: "authorizer.deny", reason: DENY.config, error: ready, kind });
  return safeDeny(kind, event);
}
