/** Who is running an operator command, as the audit trail names them. */
import { hostname, userInfo } from "node:os";

/** AUTHPLANE_OPERATOR (a CI job, a named person) or the OS user at this host. */
export function operatorActor(env: Record<string, string | undefined> = process.env): string {
  if (env.AUTHPLANE_OPERATOR) return `ops:${env.AUTHPLANE_OPERATOR}`;
  let user = env.USER ?? "unknown";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers): the environment's USER will do
  }
  return `ops:${user}@${hostname()}`;
}
