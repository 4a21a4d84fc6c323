import type { Construct } from "constructs";
import { AuroraServerless, type Network } from "../modules/index.js";
import { ComponentStack } from "../infra/component-stack.js";
import type { Environment } from "../infra/environment.js";

/** `<env>-database`: Aurora PostgreSQL Serverless v2 in the private subnets, pausing at 0 ACU. */
export function databaseStack(scope: Construct, env: Environment, network: Network) {
  const stack = new ComponentStack(scope, env, "database");
  const database = new AuroraServerless(stack, "aurora", {
    name: `authplane-${env.name}`,
    vpcId: network.vpcId,
    subnetIds: network.privateSubnetIds,
    minCapacity: env.aurora.minCapacity,
    maxCapacity: env.aurora.maxCapacity,
    secondsUntilAutoPause: env.aurora.secondsUntilAutoPause,
    deletionProtection: env.aurora.deletionProtection,
    backupWindow: env.aurora.backupWindow,
    logRetentionDays: env.logRetentionDays,
    logKmsKeyArn: env.logKmsKeyArn,
    // An environment that protects its database also keeps a last snapshot when it goes.
    skipFinalSnapshot: !env.aurora.deletionProtection,
  });
  return { stack, database };
}
