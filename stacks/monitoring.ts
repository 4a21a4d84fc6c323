import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { Monitoring, type AuroraServerless, type AuthService, type JwtAuthorizer } from "../modules/index.js";
import { ComponentStack } from "../infra/component-stack.js";
import type { Environment } from "../infra/environment.js";

/** Connections the design expects at most: every reserved auth instance's full pool plus the headroom. */
export const connectionBudget = (env: Environment): number => env.auth.reservedConcurrency * env.auth.poolMax + env.aurora.reservedConnections;

/** `<env>-monitoring`: alarms on every other stack's parts, the alarm topic and the dashboard. */
export function monitoringStack(scope: Construct, env: Environment, parts: { auth: AuthService; authorizer: JwtAuthorizer; database: AuroraServerless }) {
  const stack = new ComponentStack(scope, env, "monitoring");
  const monitoring = new Monitoring(stack, "monitoring", {
    name: `authplane-${env.name}`,
    region: env.region,
    alertEmails: env.alerts.email,
    auth: { functionName: parts.auth.functionName, timeoutSeconds: 29, apiId: parts.auth.apiId, stageName: parts.auth.stageName },
    authorizer: { functionName: parts.authorizer.functionName },
    database: { clusterIdentifier: parts.database.clusterIdentifier, maxCapacity: parts.database.maxCapacity, connectionBudget: connectionBudget(env) },
    topicKey: env.alerts.topicKey,
    keyDeletionWindowDays: Math.max(7, env.secretRecoveryWindowDays),
  });
  new TerraformOutput(stack, "alarm_topic_arn", { value: monitoring.topicArn, description: "SNS topic every alarm publishes to" });
  new TerraformOutput(stack, "dashboard", { value: `https://${env.region}.console.aws.amazon.com/cloudwatch/home?region=${env.region}#dashboards/dashboard/${monitoring.dashboardName}` });
  return { stack, monitoring };
}
