/**
 * What tells someone authplane is broken: CloudWatch alarms on the auth function, its API, the
 * authorizer (AWS's metrics and the authorizer's own deny counts) and Aurora, all publishing to
 * one SNS topic (KMS-encrypted unless the environment chooses otherwise) with the environment's
 * email subscriptions, and one dashboard.
 *
 * Takes names and ids only, so it can watch functions and a cluster that other stacks own.
 * Every alarm treats missing data as fine: an idle environment (Aurora paused, no traffic)
 * emits no data points, and silence then is health, not an outage.
 */
import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard/index.js";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity/index.js";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias/index.js";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key/index.js";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic/index.js";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription/index.js";
import { Fn } from "cdktf";
import { Construct } from "constructs";

/**
 * The namespace, metric and dimension names the functions emit (functions/emf.ts for the auth
 * service, functions/authorizer/metrics.ts for the authorizer, whose denies carry the dimension
 * sets {Function, Code} and {Function, Class}: an alarm must name exactly a set a metric was
 * published with).
 */
export const AUTHPLANE_METRICS = {
  namespace: "authplane",
  denies: "Denies",
  denyDimension: "Code",
  /** "fault" (our side: functions/authorizer/deny-codes.ts FAULT_CODES) or "client". */
  classDimension: "Class",
  faultClass: "fault",
  /** The authorizer's fixed "Function" dimension value. */
  authorizerFunction: { Function: "authorizer" },
  signIns: "SignIns",
  tokensMinted: "TokensMinted",
  databaseErrors: "DatabaseErrors",
} as const;

/**
 * Deny codes worth waking someone for, with the 5-minute count that is unusual: normal in small
 * numbers, an attack or a broken client in large ones. The faults on our side (revocations_stale,
 * app_not_configured, ERR_AUTHORIZER_CONFIG, ERR_AUTHORIZER_INTERNAL) share one alarm on
 * Class=fault instead, where one is enough.
 */
export const DEFAULT_DENY_ALARMS: Readonly<Record<string, number>> = {
  ERR_JWKS_NO_MATCHING_KEY: 20,
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 20,
  wrong_app: 100,
  missing_permission: 100,
};

export interface MonitoringProps {
  /** Prefix of alarm, topic and dashboard names, e.g. "authplane-prod". */
  name: string;
  region: string;
  /** Email addresses subscribed to the alarm topic. @default [] */
  alertEmails?: string[];
  auth: {
    functionName: string;
    /** The function's timeout, the ceiling its p99 duration alarm is measured against. */
    timeoutSeconds: number;
    apiId: string;
    stageName: string;
  };
  authorizer: { functionName: string };
  database: {
    clusterIdentifier: string;
    maxCapacity: number;
    /** Connections the design expects at most (the connection budget). */
    connectionBudget: number;
  };
  /** Deny code → 5-minute count that alarms. @default DEFAULT_DENY_ALARMS */
  denyAlarms?: Record<string, number>;
  /** p99 duration (ms) of the auth function that alarms. @default 10000 (a resume from 0 ACU is ~15 s, so single cold resumes stay under p99) */
  p99DurationMs?: number;
  /**
   * The alarm topic's encryption: a customer managed KMS key CloudWatch may use, or none (SNS
   * then keeps messages unencrypted at rest; they hold alarm names, thresholds and metric values,
   * no personal data). The AWS managed aws/sns key is not an option: CloudWatch cannot publish
   * to a topic under it. @default "customer-managed"
   */
  topicKey?: "customer-managed" | "none";
  /** Days before a deleted topic key is gone. @default 30 */
  keyDeletionWindowDays?: number;
}

interface AlarmSpec {
  id: string;
  description: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  statistic?: string;
  extendedStatistic?: string;
  threshold: number;
  /** @default 1 */
  periods?: number;
  /** @default 300 */
  periodSeconds?: number;
  comparison?: string;
}

export class Monitoring extends Construct {
  readonly topicArn: string;
  readonly dashboardName: string;
  readonly alarms: CloudwatchMetricAlarm[] = [];
  /** undefined with `topicKey: "none"`. */
  readonly keyArn: string | undefined;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { name } = props;
    const key = (props.topicKey ?? "customer-managed") === "customer-managed" ? this.topicKey(name, props.keyDeletionWindowDays ?? 30) : undefined;
    const topic = new SnsTopic(this, "topic", { name: `${name}-alarms`, kmsMasterKeyId: key?.arn });
    (props.alertEmails ?? []).forEach((endpoint, i) => new SnsTopicSubscription(this, `email-${i}`, { topicArn: topic.arn, protocol: "email", endpoint }));

    const fn = (functionName: string) => ({ FunctionName: functionName });
    const api = { ApiId: props.auth.apiId, Stage: props.auth.stageName };
    const cluster = { DBClusterIdentifier: props.database.clusterIdentifier };
    const specs: AlarmSpec[] = [
      { id: "auth-errors", description: "The auth function failed (uncaught error, timeout or crash)", namespace: "AWS/Lambda", metricName: "Errors", dimensions: fn(props.auth.functionName), statistic: "Sum", threshold: 1 },
      { id: "auth-throttles", description: "Auth requests rejected at the reserved concurrency (the connection budget's cap)", namespace: "AWS/Lambda", metricName: "Throttles", dimensions: fn(props.auth.functionName), statistic: "Sum", threshold: 1 },
      {
        id: "auth-p99-duration",
        description: `Auth function p99 duration above ${props.p99DurationMs ?? 10_000} ms for 15 minutes (timeout ${props.auth.timeoutSeconds} s)`,
        namespace: "AWS/Lambda",
        metricName: "Duration",
        dimensions: fn(props.auth.functionName),
        extendedStatistic: "p99",
        threshold: props.p99DurationMs ?? 10_000,
        periods: 3,
      },
      { id: "api-5xx", description: "The auth API answered 5xx (503 = database unreachable)", namespace: "AWS/ApiGateway", metricName: "5xx", dimensions: api, statistic: "Sum", threshold: 5 },
      { id: "api-latency", description: "Auth API p99 latency above 5 s for 15 minutes", namespace: "AWS/ApiGateway", metricName: "Latency", dimensions: api, extendedStatistic: "p99", threshold: 5000, periods: 3 },
      { id: "authorizer-errors", description: "The JWT authorizer failed: API Gateway answers 500 to every request it guards", namespace: "AWS/Lambda", metricName: "Errors", dimensions: fn(props.authorizer.functionName), statistic: "Sum", threshold: 1 },
      {
        id: "db-capacity-at-max",
        description: `Aurora at its maximum of ${props.database.maxCapacity} ACU for 15 minutes`,
        namespace: "AWS/RDS",
        metricName: "ServerlessDatabaseCapacity",
        dimensions: cluster,
        statistic: "Maximum",
        threshold: props.database.maxCapacity,
        periods: 3,
      },
      {
        id: "db-connections",
        description: `More than the connection budget of ${props.database.connectionBudget} connections to Aurora`,
        namespace: "AWS/RDS",
        metricName: "DatabaseConnections",
        dimensions: cluster,
        statistic: "Maximum",
        threshold: props.database.connectionBudget,
        comparison: "GreaterThanThreshold",
      },
      {
        id: "authorizer-faults",
        description: "The authorizer denied a request through a fault on our side: revocations_stale, app_not_configured, ERR_AUTHORIZER_CONFIG or ERR_AUTHORIZER_INTERNAL (docs/operations.md)",
        namespace: AUTHPLANE_METRICS.namespace,
        metricName: AUTHPLANE_METRICS.denies,
        dimensions: { ...AUTHPLANE_METRICS.authorizerFunction, [AUTHPLANE_METRICS.classDimension]: AUTHPLANE_METRICS.faultClass },
        statistic: "Sum",
        threshold: 1,
      },
      { id: "db-errors", description: "The auth service could not reach or use the database", namespace: AUTHPLANE_METRICS.namespace, metricName: AUTHPLANE_METRICS.databaseErrors, dimensions: {}, statistic: "Sum", threshold: 1 },
      ...Object.entries(props.denyAlarms ?? DEFAULT_DENY_ALARMS).map(([code, threshold]) => ({
        id: `denies-${code.toLowerCase().replace(/_/g, "-")}`,
        description: `Authorizer denied ${threshold === 1 ? "any" : `${threshold}+`} requests in 5 minutes with ${code} (docs/operations.md)`,
        namespace: AUTHPLANE_METRICS.namespace,
        metricName: AUTHPLANE_METRICS.denies,
        dimensions: { ...AUTHPLANE_METRICS.authorizerFunction, [AUTHPLANE_METRICS.denyDimension]: code },
        statistic: "Sum",
        threshold,
      })),
    ];
    for (const spec of specs) {
      this.alarms.push(
        new CloudwatchMetricAlarm(this, spec.id, {
          alarmName: `${name}-${spec.id}`,
          alarmDescription: spec.description,
          namespace: spec.namespace,
          metricName: spec.metricName,
          dimensions: Object.keys(spec.dimensions).length ? spec.dimensions : undefined,
          statistic: spec.statistic,
          extendedStatistic: spec.extendedStatistic,
          period: spec.periodSeconds ?? 300,
          evaluationPeriods: spec.periods ?? 1,
          datapointsToAlarm: spec.periods ?? 1,
          threshold: spec.threshold,
          comparisonOperator: spec.comparison ?? "GreaterThanOrEqualToThreshold",
          treatMissingData: "notBreaching",
          alarmActions: [topic.arn],
          okActions: [topic.arn],
        }),
      );
    }

    this.dashboardName = name;
    new CloudwatchDashboard(this, "dashboard", {
      dashboardName: name,
      dashboardBody: Fn.jsonencode(dashboardBody(props)),
    });
    this.topicArn = topic.arn;
    this.keyArn = key?.arn;
  }

  /** CloudWatch can publish to an encrypted topic only with a customer managed key whose policy lets it. */
  private topicKey(name: string, deletionWindowInDays: number): KmsKey {
    const account = new DataAwsCallerIdentity(this, "account");
    const keyPolicy = new DataAwsIamPolicyDocument(this, "key-policy", {
      statement: [
        {
          sid: "AccountAdministers",
          actions: ["kms:*"],
          resources: ["*"],
          principals: [{ type: "AWS", identifiers: [`arn:aws:iam::${account.accountId}:root`] }],
        },
        {
          sid: "CloudWatchAlarmsPublish",
          actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
          resources: ["*"],
          principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }],
          condition: [{ test: "StringEquals", variable: "aws:SourceAccount", values: [account.accountId] }],
        },
      ],
    });
    const key = new KmsKey(this, "topic-key", {
      description: `${name}: encrypts the alarm topic`,
      enableKeyRotation: true,
      deletionWindowInDays,
      policy: keyPolicy.json,
    });
    new KmsAlias(this, "topic-key-alias", { name: `alias/${name}-alarms`, targetKeyId: key.keyId });
    return key;
  }
}

/** The dashboard: one row per part, the same metrics the alarms watch plus the functions' own counters. */
function dashboardBody(props: MonitoringProps) {
  const { region } = props;
  const authFn = ["AWS/Lambda", "Invocations", "FunctionName", props.auth.functionName];
  const widget = (title: string, metrics: unknown[], x: number, y: number, extra: Record<string, unknown> = {}) => ({
    type: "metric",
    x,
    y,
    width: 8,
    height: 6,
    properties: { title, region, metrics, period: 300, stat: "Sum", view: "timeSeries", ...extra },
  });
  const ns = AUTHPLANE_METRICS.namespace;
  // No double quotes inside: cdktf 0.21 renders jsonencode() of a string holding them as broken HCL.
  return {
    widgets: [
      widget("Auth function", [authFn, ["AWS/Lambda", "Errors", "FunctionName", props.auth.functionName], ["AWS/Lambda", "Throttles", "FunctionName", props.auth.functionName]], 0, 0),
      widget("Auth function duration (p99)", [["AWS/Lambda", "Duration", "FunctionName", props.auth.functionName, { stat: "p99" }]], 8, 0),
      widget("Auth API", [["AWS/ApiGateway", "Count", "ApiId", props.auth.apiId, "Stage", props.auth.stageName], ["AWS/ApiGateway", "4xx", "ApiId", props.auth.apiId, "Stage", props.auth.stageName], ["AWS/ApiGateway", "5xx", "ApiId", props.auth.apiId, "Stage", props.auth.stageName]], 16, 0),
      widget("Sign-ins by method", [[{ expression: `SEARCH('{${ns},method} MetricName=${AUTHPLANE_METRICS.signIns}', 'Sum', 300)`, id: "signins" }]], 0, 6),
      widget("Tokens minted, database errors", [[ns, AUTHPLANE_METRICS.tokensMinted], [ns, AUTHPLANE_METRICS.databaseErrors]], 8, 6),
      widget("Authorizer", [["AWS/Lambda", "Invocations", "FunctionName", props.authorizer.functionName], ["AWS/Lambda", "Errors", "FunctionName", props.authorizer.functionName]], 16, 6),
      widget("Denies by code", [[{ expression: `SEARCH('{${ns},Function,${AUTHPLANE_METRICS.denyDimension}} MetricName=${AUTHPLANE_METRICS.denies}', 'Sum', 300)`, id: "denies" }]], 0, 12),
      widget("Authorizer denies: faults (alarm at 1) and client", [[{ expression: `SEARCH('{${ns},Function,${AUTHPLANE_METRICS.classDimension}} MetricName=${AUTHPLANE_METRICS.denies}', 'Sum', 300)`, id: "classes" }]], 0, 18),
      widget("Aurora capacity (ACU)", [["AWS/RDS", "ServerlessDatabaseCapacity", "DBClusterIdentifier", props.database.clusterIdentifier]], 8, 12, { stat: "Maximum" }),
      widget("Aurora connections", [["AWS/RDS", "DatabaseConnections", "DBClusterIdentifier", props.database.clusterIdentifier]], 16, 12, { stat: "Maximum" }),
    ],
  };
}
