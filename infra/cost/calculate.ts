/**
 * The monthly cost of one environment, computed from its synthesized Terraform JSON (what would
 * be deployed, not what the environment file says) and the price table in ./prices.ts. Every
 * resource type in the stacks appears in the report, priced or marked as free, so nothing that
 * costs money can slip past unpriced: an unknown type is an error.
 */
import { ALWAYS_FREE, CUSTOM_METRIC_SERIES, PRICES, PRICES_AS_OF, REQUEST_ASSUMPTIONS as A, type RegionPrices } from "./prices.js";

type Resource = Record<string, any>;
/** A stack's cdk.tf.json, as much of it as the calculator reads. */
export interface StackJson {
  resource?: Record<string, Record<string, Resource>>;
}

export interface CostItem {
  stack: string;
  type: string;
  count: number;
  idle_usd_month: number;
  per_million_usd: number;
  /** How the figure was reached. */
  basis: string;
}

export interface CostReport {
  env: string;
  region: string;
  prices_as_of: string;
  free_tier_applied: boolean;
  idle_usd_month: number;
  hosted_zone_usd_month: number;
  per_million_requests_usd: number;
  /** Custom metrics once traffic flows (billed per metric-month, not per request). */
  active_metrics_usd_month: number;
  items: CostItem[];
}

/** Resource types that cost nothing by themselves (their usage is priced on another item, or AWS does not charge). */
const FREE_TYPES = new Set([
  "aws_vpc", "aws_subnet", "aws_route_table", "aws_route_table_association", "aws_internet_gateway", "aws_egress_only_internet_gateway",
  "aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule", "aws_security_group_rule",
  "aws_db_subnet_group", "aws_rds_cluster_parameter_group", "aws_rds_cluster_instance",
  "aws_iam_role", "aws_iam_role_policy", "aws_iam_policy", "aws_iam_role_policy_attachment",
  "aws_lambda_permission", "aws_apigatewayv2_integration", "aws_apigatewayv2_route", "aws_apigatewayv2_stage", "aws_apigatewayv2_authorizer",
  "aws_apigatewayv2_domain_name", "aws_apigatewayv2_api_mapping", "aws_acm_certificate", "aws_acm_certificate_validation", "aws_route53_record",
  "aws_ssm_parameter", "aws_kms_alias", "aws_sns_topic_subscription",
  "aws_s3_bucket", "aws_s3_bucket_versioning", "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_ownership_controls", "aws_s3_bucket_policy", "aws_eip",
]);

const FREE_BASIS: Record<string, string> = {
  aws_rds_cluster_instance: "priced on aws_rds_cluster (serverless ACUs)",
  aws_route53_record: "alias queries to AWS resources are free; the zone is hosted_zone_usd_month",
  aws_s3_bucket: "Terraform state: kilobytes, cents per year",
  aws_eip: "priced on aws_nat_gateway",
  aws_acm_certificate: "public certificates are free",
};

const round = (n: number) => Math.round(n * 10000) / 10000;
const money = (n: number) => Math.round(n * 100) / 100;

export interface CostOptions {
  /** Apply CloudWatch's per-account always-free allowances. @default true */
  freeTier?: boolean;
}

/**
 * Price every resource of `stacks` (stack name → Terraform JSON) for `env` in `region`.
 * "Idle" is a month with no traffic: Aurora paused at its minimum, no invocations.
 * "Per million" is a million sign-in/token requests to the auth service on top of idle.
 */
export function calculateCost(env: string, region: string, stacks: ReadonlyMap<string, StackJson>, options: CostOptions = {}): CostReport {
  const p: RegionPrices | undefined = PRICES[region];
  if (!p) throw new Error(`no prices for region ${region} in infra/cost/prices.ts (have: ${Object.keys(PRICES).join(", ")})`);
  const freeTier = options.freeTier ?? true;
  const items: CostItem[] = [];
  const all = [...stacks].flatMap(([stack, json]) => Object.entries(json.resource ?? {}).map(([type, byName]) => ({ stack, type, list: Object.values(byName) })));
  const countOf = (type: string) => all.filter((g) => g.type === type).reduce((n, g) => n + g.list.length, 0);
  // Free allowances are per account: spread them over the stacks in the order they appear.
  let freeAlarms = freeTier ? ALWAYS_FREE.alarms : 0;
  let freeDashboards = freeTier ? ALWAYS_FREE.dashboards : 0;

  for (const { stack, type, list } of all) {
    const count = list.length;
    const item = (idle: number, perMillion: number, basis: string) => items.push({ stack, type, count, idle_usd_month: round(idle), per_million_usd: round(perMillion), basis });
    switch (type) {
      case "aws_lambda_function": {
        // Only the auth service's function serves sign-in/token requests; the authorizer runs per
        // backend request (cached by API Gateway) and the migrator per deploy.
        const auth = list.filter((f) => /-auth$/.test(String(f.function_name)));
        const gb = auth.reduce((n, f) => n + Number(f.memory_size ?? 128) / 1024, 0);
        const perGbS = auth.every((f) => (f.architectures ?? ["x86_64"]).includes("arm64")) ? p.lambdaArmGbSecond : p.lambdaX86GbSecond;
        const compute = auth.length ? 1e6 * (A.authDurationMs / 1000) * gb * perGbS : 0;
        const requests = auth.length ? p.lambdaPerMillionRequests : 0;
        const traced = auth.some((f) => f.tracing_config?.mode === "Active");
        const xray = traced ? p.xrayPerMillionTraces : 0;
        item(0, compute + requests + xray, auth.length ? `${A.authDurationMs} ms × ${gb} GB × $${perGbS}/GB-s + $${p.lambdaPerMillionRequests}/M requests${traced ? ` + X-Ray $${p.xrayPerMillionTraces}/M traces` : ""}; no charge idle` : "not on the request path; no charge idle");
        break;
      }
      case "aws_apigatewayv2_api":
        item(0, count * p.httpApiPerMillion + (A.responseBytes * 1e6) / 1e9 * p.dataOutGb, `HTTP API $${p.httpApiPerMillion}/M + ${A.responseBytes} B out per response at $${p.dataOutGb}/GB`);
        break;
      case "aws_secretsmanager_secret":
        item(count * p.secretMonth, 0, `$${p.secretMonth} per secret-month (read once per cold start)`);
        break;
      case "aws_kms_key":
        item(count * p.kmsKeyMonth, 0, `$${p.kmsKeyMonth} per key-month (customer managed; the alarm topic's with alerts.topicKey "customer-managed")`);
        break;
      case "aws_sns_topic": {
        const keyed = list.some((t) => t.kms_master_key_id);
        item(0, 0, `first 1,000 email notifications a month are free; ${keyed ? "encrypted under a customer managed key (priced on aws_kms_key)" : 'no topic key (alerts.topicKey "none": alarm names and values only, no personal data)'}`);
        break;
      }
      case "aws_cloudwatch_metric_alarm": {
        const free = Math.min(freeAlarms, count);
        freeAlarms -= free;
        item((count - free) * p.alarmMonth, 0, `$${p.alarmMonth} per alarm-month${free ? `, ${free} in the always-free ${ALWAYS_FREE.alarms}` : ""}`);
        break;
      }
      case "aws_cloudwatch_dashboard": {
        const free = Math.min(freeDashboards, count);
        freeDashboards -= free;
        item((count - free) * p.dashboardMonth, 0, `$${p.dashboardMonth} per dashboard-month${free ? `, ${free} in the always-free ${ALWAYS_FREE.dashboards}` : ""}`);
        break;
      }
      case "aws_cloudwatch_log_group": {
        // Request logs land in the auth function's and the API's groups; spread the bytes over those.
        const onPath = list.filter((g) => /-auth$/.test(String(g.name)));
        const share = onPath.length ? (A.logBytesPerRequest * 1e6) / 1e9 * p.logsIngestGb : 0;
        item(0, share, onPath.length ? `${A.logBytesPerRequest} B of logs per request at $${p.logsIngestGb}/GB ingested` : "no traffic on the sign-in path");
        break;
      }
      case "aws_rds_cluster": {
        let idle = 0;
        let perMillion = 0;
        const parts: string[] = [];
        for (const c of list) {
          const min = Number(c.serverlessv2_scaling_configuration?.min_capacity ?? 0.5);
          idle += min * A.hoursPerMonth * p.auroraAcuHour + A.idleAuroraStorageGb * p.auroraStorageGbMonth;
          // Its RDS-managed master secret is a Secrets Manager secret too.
          if (c.manage_master_user_password) idle += p.secretMonth;
          perMillion += (A.auroraAcuSecondsPerRequest * 1e6) / 3600 * p.auroraAcuHour + A.auroraIosPerRequest * p.auroraIoPerMillion;
          parts.push(`${min} ACU idle × ${A.hoursPerMonth} h × $${p.auroraAcuHour} + ${A.idleAuroraStorageGb} GB × $${p.auroraStorageGbMonth}${c.manage_master_user_password ? ` + master secret $${p.secretMonth}` : ""}`);
        }
        item(idle, perMillion, `${parts.join("; ")}; per request ${A.auroraAcuSecondsPerRequest} ACU-s + ${A.auroraIosPerRequest} I/Os`);
        break;
      }
      case "aws_nat_gateway":
        item(count * A.hoursPerMonth * (p.natGatewayHour + p.publicIpv4Hour), 0, `$${p.natGatewayHour}/h + its public IPv4 $${p.publicIpv4Hour}/h (+ $${p.natGatewayHour}/GB processed)`);
        break;
      case "aws_vpc_endpoint": {
        const azs = list.reduce((n, e) => n + (e.vpc_endpoint_type === "Interface" ? Math.max(1, (e.subnet_ids ?? []).length) : 0), 0);
        item(azs * A.hoursPerMonth * p.interfaceEndpointAzHour, 0, `${azs} endpoint-AZs × $${p.interfaceEndpointAzHour}/h`);
        break;
      }
      default:
        if (!FREE_TYPES.has(type)) throw new Error(`${stack}: no price rule for ${type}; add one to infra/cost/calculate.ts (or list it as free, with the reason)`);
        item(0, 0, FREE_BASIS[type] ?? "no charge");
    }
  }

  const hasDomain = countOf("aws_apigatewayv2_domain_name") > 0;
  const functions = all.filter((g) => g.type === "aws_lambda_function").flatMap((g) => g.list);
  const series = (functions.some((f) => /-auth$/.test(String(f.function_name))) ? CUSTOM_METRIC_SERIES.auth : 0) + (functions.some((f) => /-authorizer$/.test(String(f.function_name))) ? CUSTOM_METRIC_SERIES.authorizer : 0);
  const billedSeries = Math.max(0, series - (freeTier ? ALWAYS_FREE.customMetrics : 0));
  return {
    env,
    region,
    prices_as_of: PRICES_AS_OF,
    free_tier_applied: freeTier,
    idle_usd_month: money(items.reduce((n, i) => n + i.idle_usd_month, 0)),
    hosted_zone_usd_month: hasDomain ? p.hostedZoneMonth : 0,
    per_million_requests_usd: money(items.reduce((n, i) => n + i.per_million_usd, 0)),
    active_metrics_usd_month: money(billedSeries * p.customMetricMonth),
    items,
  };
}

/** The readable table: one line per (stack, type), then the totals. */
export function formatCostTable(report: CostReport): string {
  const rows = report.items.map((i) => [i.stack, i.type, String(i.count), i.idle_usd_month.toFixed(2), i.per_million_usd.toFixed(2), i.basis]);
  const head = ["stack", "resource type", "n", "idle $/mo", "$/M req", "basis"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (c === 5 ? 0 : r[c]!.length))));
  const line = (r: string[]) => r.map((v, c) => (c === 5 ? v : c >= 2 && c <= 4 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join("  ");
  return [
    `${report.env} (${report.region}), prices as of ${report.prices_as_of}${report.free_tier_applied ? ", CloudWatch always-free tier applied" : ""}`,
    line(head),
    ...rows.map(line),
    "",
    `idle: $${report.idle_usd_month.toFixed(2)}/month + hosted zone $${report.hosted_zone_usd_month.toFixed(2)}/month`,
    `per million sign-in/token requests: $${report.per_million_requests_usd.toFixed(2)} (plus $${report.active_metrics_usd_month.toFixed(2)}/month of custom metrics in any month with traffic)`,
  ].join("\n");
}
