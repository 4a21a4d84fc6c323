import type { Construct } from "constructs";
import type { Environment } from "../infra/environment.js";
import { authStack } from "./auth.js";
import { authorizerStack } from "./authorizer.js";
import { bootstrapStack } from "./bootstrap.js";
import { databaseStack } from "./database.js";
import { monitoringStack } from "./monitoring.js";
import { networkStack } from "./network.js";

/** Every stack of one environment, wired through cdktf cross-stack references (remote state). */
export function environmentStacks(scope: Construct, env: Environment) {
  const bootstrap = bootstrapStack(scope, env);
  const network = networkStack(scope, env);
  const database = databaseStack(scope, env, network.network);
  const auth = authStack(scope, env, network.network, database.database);
  const authorizer = authorizerStack(scope, env, auth.service);
  const monitoring = monitoringStack(scope, env, { auth: auth.service, authorizer: authorizer.authorizer, database: database.database });
  // Remote state needs the bucket; cdktf orders the rest by their references.
  for (const s of [network, database, auth, authorizer, monitoring]) s.stack.addDependency(bootstrap.stack);
  return { bootstrap, network, database, auth, authorizer, monitoring };
}
