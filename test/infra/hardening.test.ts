/** Synth assertions for issue 13: observability, the hardened database, least privilege and the edge. */
import { beforeAll, describe, expect, it, vi } from "vitest";
import { auroraMaxConnections } from "../../infra/environment.js";
import { AuroraServerless, DEFAULT_DENY_ALARMS, SIGN_IN_ROUTES } from "../../modules/index.js";
import { connectionBudget } from "../../stacks/monitoring.js";
import { AuthorizerMetrics } from "../../functions/authorizer/metrics.js";
import { createAuthorizer } from "../../functions/authorizer/authorizer.js";
import { DENY, FAULT_CODES } from "../../functions/authorizer/deny-codes.js";
import { httpEvent, rsaKey, sign, testConfig } from "../functions/authorizer/support.js";
import { resources, stackOf, synthesizeAll, synthesizeConstruct, type Synthesized } from "./synthesized.js";

let synth: Synthesized;
beforeAll(() => {
  synth = synthesizeAll();
});

const ref = (type: string, json: Record<string, any>, predicate: (r: any) => boolean = () => true) => {
  const entries = Object.entries(json.resource?.[type] ?? {}).filter(([, r]) => predicate(r));
  if (entries.length !== 1) throw new Error(`expected one ${type}, found ${entries.length}`);
  return `\${${type}.${entries[0]![0]}`;
};

describe("observability", () => {
  it("every alarm publishes to the environment's topic (KMS-encrypted unless it chooses none), on alarm and on recovery, and treats silence as health", () => {
    for (const env of synth.envs) {
      const mon = stackOf(synth, `${env.name}-monitoring`);
      const topic = ref("aws_sns_topic", mon);
      const [sns] = resources(mon, "aws_sns_topic");
      if (env.alerts.topicKey === "customer-managed") {
        expect(sns.kms_master_key_id).toBe(`${ref("aws_kms_key", mon)}.arn}`);
        expect(resources(mon, "aws_kms_key")[0]).toMatchObject({ enable_key_rotation: true });
      } else {
        expect(sns.kms_master_key_id).toBeUndefined();
        expect(resources(mon, "aws_kms_key")).toHaveLength(0);
        expect(resources(mon, "aws_kms_alias")).toHaveLength(0);
      }
      const alarms = resources(mon, "aws_cloudwatch_metric_alarm");
      // 9 on AWS's metrics and the database errors, one on the authorizer's faults, one per attack code.
      expect(alarms).toHaveLength(10 + Object.keys(DEFAULT_DENY_ALARMS).length);
      for (const a of alarms) {
        expect(a.alarm_actions, a.alarm_name).toEqual([`${topic}.arn}`]);
        expect(a.ok_actions, a.alarm_name).toEqual([`${topic}.arn}`]);
        expect(a.treat_missing_data).toBe("notBreaching");
      }
    }
  });

  it("the alarms cover the auth function, its API, the authorizer (errors and denies by code) and Aurora", () => {
    for (const env of synth.envs) {
      const alarms = resources(stackOf(synth, `${env.name}-monitoring`), "aws_cloudwatch_metric_alarm");
      const by = (ns: string, metric: string) => alarms.filter((a) => a.namespace === ns && a.metric_name === metric);
      const fromAuth = (a: any) => String(a.dimensions?.FunctionName).includes(`cross-stack-reference-input-${env.name}-auth.`);
      const fromAuthorizer = (a: any) => String(a.dimensions?.FunctionName).includes(`cross-stack-reference-input-${env.name}-authorizer.`);
      expect(by("AWS/Lambda", "Errors").filter(fromAuth)).toHaveLength(1);
      expect(by("AWS/Lambda", "Errors").filter(fromAuthorizer)).toHaveLength(1);
      expect(by("AWS/Lambda", "Throttles").filter(fromAuth)).toHaveLength(1);
      expect(by("AWS/Lambda", "Duration")[0]).toMatchObject({ extended_statistic: "p99", evaluation_periods: 3 });
      expect(by("AWS/ApiGateway", "5xx")[0].dimensions).toMatchObject({ Stage: "$default" });
      expect(by("AWS/ApiGateway", "Latency")[0]).toMatchObject({ extended_statistic: "p99" });
      expect(by("AWS/RDS", "ServerlessDatabaseCapacity")[0]).toMatchObject({ threshold: env.aurora.maxCapacity, statistic: "Maximum", comparison_operator: "GreaterThanOrEqualToThreshold" });
      expect(by("AWS/RDS", "DatabaseConnections")[0]).toMatchObject({ threshold: connectionBudget(env), comparison_operator: "GreaterThanThreshold" });
      const denies = by("authplane", "Denies").filter((a) => "Code" in a.dimensions);
      expect(denies.map((a) => a.dimensions.Code).sort()).toEqual(Object.keys(DEFAULT_DENY_ALARMS).sort());
      for (const a of denies) expect(a.threshold).toBe(DEFAULT_DENY_ALARMS[a.dimensions.Code]);
      const faults = by("authplane", "Denies").filter((a) => !("Code" in a.dimensions));
      expect(faults).toEqual([expect.objectContaining({ dimensions: { Function: "authorizer", Class: "fault" }, statistic: "Sum", threshold: 1 })]);
      expect(by("authplane", "DatabaseErrors")).toHaveLength(1);
    }
  });

  it("dev's topic goes without a key ($1/month saved); staging and prod keep the customer managed key", () => {
    const choice = Object.fromEntries(synth.envs.map((e) => [e.name, e.alerts.topicKey]));
    expect(choice).toMatchObject({ dev: "none", staging: "customer-managed", prod: "customer-managed" });
  });

  it("each fault code, produced by the real authorizer, reaches the one fault alarm's metric", async () => {
    const alarm = resources(stackOf(synth, "dev-monitoring"), "aws_cloudwatch_metric_alarm").find((a) => a.alarm_name === "authplane-dev-authorizer-faults");
    expect(alarm).toMatchObject({ namespace: "authplane", metric_name: "Denies", threshold: 1, comparison_operator: "GreaterThanOrEqualToThreshold" });
    /** Does this EMF document put a data point on the alarm's metric (namespace, name, exact dimension set and values)? */
    const feedsAlarm = (doc: Record<string, any>) =>
      doc._aws.CloudWatchMetrics.some(
        (d: any) =>
          d.Namespace === alarm.namespace &&
          d.Metrics.some((m: any) => m.Name === alarm.metric_name) &&
          d.Dimensions.some((set: string[]) => [...set].sort().join() === Object.keys(alarm.dimensions).sort().join()),
      ) && Object.entries(alarm.dimensions).every(([k, v]) => doc[k] === v) && doc[alarm.metric_name] >= alarm.threshold;

    const key = await rsaKey();
    const token = await sign(key);
    const reached = new Set<string>();
    const run = async (config: Parameters<typeof testConfig>[1], event: unknown, deps: Parameters<typeof createAuthorizer>[1] = {}) => {
      const docs: Array<Record<string, any>> = [];
      // A long flush interval: the fault must be written at once, not on a later request.
      const authorizer = createAuthorizer(testConfig([key.jwk], { metricsFlushMs: 600_000, ...config }), { log: () => {}, metrics: (l) => docs.push(JSON.parse(l)), ...deps });
      expect(await authorizer.handle(event)).toEqual({ isAuthorized: false });
      for (const d of docs.filter(feedsAlarm)) reached.add(d.Code);
    };
    await run({}, httpEvent(`Bearer ${token}`, {}, null)); // app_not_configured: a stage without authplane_app
    await run({ revocationsUrl: new URL("http://127.0.0.1:9/revocations") }, httpEvent(`Bearer ${token}`)); // revocations_stale: the feed never answered
    const broken = { peek: () => { throw new TypeError("bug"); }, get: async () => { throw new TypeError("bug"); } };
    await run({}, httpEvent(`Bearer ${token}`), { keys: broken }); // ERR_AUTHORIZER_INTERNAL: an error that is not a deny

    // ERR_AUTHORIZER_CONFIG comes from the Lambda entry when the environment is broken: its log line is the document.
    vi.resetModules();
    for (const name of ["JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE"]) vi.stubEnv(name, "");
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (lines.push(String(chunk)), true));
    try {
      const { handler } = await import("../../functions/authorizer/handler.js");
      expect(await handler(httpEvent(`Bearer ${token}`))).toEqual({ isAuthorized: false });
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
    }
    for (const d of lines.map((l) => JSON.parse(l)).filter(feedsAlarm)) reached.add(d.Code);

    expect([...reached].sort()).toEqual([...FAULT_CODES].sort());
    expect([...FAULT_CODES].sort()).toEqual([DENY.appNotConfigured, DENY.config, DENY.internal, DENY.revocationsStale].sort());
  });

  it("client denies never reach the fault alarm, however many", () => {
    const docs: Array<Record<string, any>> = [];
    const metrics = new AuthorizerMetrics({ write: (l) => docs.push(JSON.parse(l)), flushIntervalMs: 0 });
    for (const code of Object.keys(DEFAULT_DENY_ALARMS)) metrics.deny(code);
    expect(docs.map((d) => [d.Code, d.Class])).toEqual(Object.keys(DEFAULT_DENY_ALARMS).map((c) => [c, "client"]));
  });

  it("alert subscriptions come from the environment file, and there is one dashboard per environment", () => {
    for (const env of synth.envs) {
      const mon = stackOf(synth, `${env.name}-monitoring`);
      expect(resources(mon, "aws_sns_topic_subscription").map((s) => [s.protocol, s.endpoint])).toEqual(env.alerts.email.map((e) => ["email", e]));
      const dashboards = resources(mon, "aws_cloudwatch_dashboard");
      expect(dashboards.map((d) => d.dashboard_name)).toEqual([`authplane-${env.name}`]);
      expect(dashboards[0].dashboard_body).toContain("Denies by code");
      expect(dashboards[0].dashboard_body).toContain("Function,Class} MetricName=Denies");
    }
  });

  it("X-Ray tracing follows the environment's switch, on the auth function and the authorizer", () => {
    for (const env of synth.envs) {
      const [fn] = resources(stackOf(synth, `${env.name}-auth`), "aws_lambda_function").filter((f) => f.function_name === `authplane-${env.name}-auth`);
      expect(fn.tracing_config?.mode).toBe(env.tracing ? "Active" : undefined);
      const authorizer = stackOf(synth, `${env.name}-authorizer`);
      expect(resources(authorizer, "aws_lambda_function")[0].tracing_config?.mode).toBe(env.tracing ? "Active" : undefined);
      expect(JSON.stringify(authorizer.data).includes("xray:PutTraceSegments")).toBe(env.tracing);
    }
    expect(synth.envs.some((e) => e.tracing) && synth.envs.some((e) => !e.tracing)).toBe(true);
  });

  it("each deny alarm names exactly the metric and dimension set the authorizer publishes", () => {
    const published: Array<Record<string, any>> = [];
    const metrics = new AuthorizerMetrics({ write: (line) => published.push(JSON.parse(line) as Record<string, any>) });
    metrics.deny("wrong_app");
    metrics.flush();
    const [doc] = published;
    const directive = doc!._aws.CloudWatchMetrics[0];
    const alarm = resources(stackOf(synth, "dev-monitoring"), "aws_cloudwatch_metric_alarm").find((a) => a.metric_name === "Denies" && a.dimensions.Code === "wrong_app");
    expect(alarm.namespace).toBe(directive.Namespace);
    expect(directive.Metrics[0].Name).toBe(alarm.metric_name);
    // CloudWatch matches a metric by its full dimension set: the alarm's keys must be one of the published sets.
    expect(directive.Dimensions.map((set: string[]) => [...set].sort())).toContainEqual(Object.keys(alarm.dimensions).sort());
    for (const [k, v] of Object.entries(alarm.dimensions)) expect(doc![k]).toBe(v);
  });
});

describe("database", () => {
  it("requires TLS, exports the PostgreSQL log, has a backup window and IAM authentication", () => {
    for (const env of synth.envs) {
      const db = stackOf(synth, `${env.name}-database`);
      const [group] = resources(db, "aws_rds_cluster_parameter_group");
      expect(group.family).toBe("aurora-postgresql16");
      expect(group.parameter).toContainEqual({ name: "rds.force_ssl", value: "1" });
      const [cluster] = resources(db, "aws_rds_cluster");
      expect(cluster.db_cluster_parameter_group_name).toBe(`${ref("aws_rds_cluster_parameter_group", db)}.name}`);
      expect(cluster).toMatchObject({
        enabled_cloudwatch_logs_exports: ["postgresql"],
        preferred_backup_window: env.aurora.backupWindow,
        iam_database_authentication_enabled: true,
        allow_major_version_upgrade: false,
      });
      const logs = resources(db, "aws_cloudwatch_log_group");
      expect(logs.map((l) => [l.name, l.retention_in_days])).toEqual([[`/aws/rds/cluster/authplane-${env.name}/postgresql`, env.logRetentionDays]]);
    }
  });

  it("pins only the major engine version, so automatic minor upgrades never plan a downgrade", () => {
    for (const env of synth.envs) {
      const db = stackOf(synth, `${env.name}-database`);
      expect(resources(db, "aws_rds_cluster")[0].engine_version).toBe("16");
      expect(resources(db, "aws_rds_cluster_instance")[0].engine_version).toBeUndefined();
    }
  });

  it("final snapshots get a name unique to each cluster wherever they are kept", () => {
    for (const env of synth.envs) {
      const [cluster] = resources(stackOf(synth, `${env.name}-database`), "aws_rds_cluster");
      if (env.aurora.deletionProtection) {
        expect(cluster.final_snapshot_identifier).toMatch(/^authplane-\w+-final-\$\{formatdate\("YYYYMMDDhhmmss", timestamp\(\)\)\}$/);
        expect(cluster.lifecycle.ignore_changes).toEqual(["final_snapshot_identifier"]);
      } else {
        expect(cluster.skip_final_snapshot).toBe(true);
      }
    }
  });

  it("caps database clients: reserved concurrency and pool size from the environment, within max_connections", () => {
    for (const env of synth.envs) {
      const [fn] = resources(stackOf(synth, `${env.name}-auth`), "aws_lambda_function").filter((f) => f.function_name === `authplane-${env.name}-auth`);
      expect(fn.reserved_concurrent_executions).toBe(env.auth.reservedConcurrency);
      expect(fn.environment.variables.DB_POOL_MAX).toBe(String(env.auth.poolMax));
      expect(connectionBudget(env)).toBeLessThanOrEqual(auroraMaxConnections(env.aurora.maxCapacity, env.aurora.minCapacity));
    }
  });

  it("the construct takes any major version and derives the parameter group family from it", () => {
    const json = synthesizeConstruct((stack) => new AuroraServerless(stack, "db", { name: "t", vpcId: "vpc-1", subnetIds: ["a", "b"], engineVersion: "15" }));
    expect(resources(json, "aws_rds_cluster_parameter_group")[0].family).toBe("aurora-postgresql15");
  });
});

describe("least privilege and edge", () => {
  it("with a custom domain the execute-api endpoint is off and the name has A and AAAA aliases on a dual-stack domain", () => {
    for (const env of synth.envs) {
      const auth = stackOf(synth, `${env.name}-auth`);
      const [api] = resources(auth, "aws_apigatewayv2_api");
      expect(api.ip_address_type).toBe("dualstack");
      expect(api.disable_execute_api_endpoint).toBe(env.authDomain !== undefined);
      if (!env.authDomain) continue;
      const aliases = resources(auth, "aws_route53_record").filter((r) => r.alias);
      expect(aliases.map((r) => r.type).sort()).toEqual(["A", "AAAA"]);
      for (const r of aliases) expect(r.name).toBe(env.authDomain);
      expect(resources(auth, "aws_apigatewayv2_domain_name")[0].domain_name_configuration.ip_address_type).toBe("dualstack");
    }
  });

  it("each sign-in route exists and has its own, tighter throttle", () => {
    for (const env of synth.envs) {
      const auth = stackOf(synth, `${env.name}-auth`);
      const routes = resources(auth, "aws_apigatewayv2_route").map((r) => r.route_key);
      expect(routes.sort()).toEqual(["$default", ...SIGN_IN_ROUTES].sort());
      const [stage] = resources(auth, "aws_apigatewayv2_stage");
      expect(stage.route_settings.map((s: any) => s.route_key).sort()).toEqual([...SIGN_IN_ROUTES].sort());
      for (const s of stage.route_settings) {
        expect(s).toMatchObject({ throttling_burst_limit: env.auth.signInThrottle.burstLimit, throttling_rate_limit: env.auth.signInThrottle.rateLimit });
      }
      expect(stage.default_route_settings).toMatchObject({ throttling_burst_limit: env.auth.throttle.burstLimit });
      expect(env.auth.signInThrottle.rateLimit).toBeLessThan(env.auth.throttle.rateLimit);
    }
  });

  it("secrets keep the recovery window the environment chooses (dev deletes at once)", () => {
    for (const env of synth.envs) {
      for (const s of resources(stackOf(synth, `${env.name}-auth`), "aws_secretsmanager_secret")) expect(s.recovery_window_in_days).toBe(env.secretRecoveryWindowDays);
    }
    expect(synth.envs.find((e) => e.name === "dev")?.secretRecoveryWindowDays).toBe(0);
  });

  it("log groups take the environment's KMS key when it names one", () => {
    const [dev] = synth.envs.filter((e) => e.name === "dev");
    const key = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const withKey = synthesizeAll([{ ...dev!, logKmsKeyArn: key }]);
    for (const component of ["auth", "database", "authorizer"]) {
      const groups = resources(stackOf(withKey, `dev-${component}`), "aws_cloudwatch_log_group");
      expect(groups.length).toBeGreaterThan(0);
      for (const g of groups) expect(g.kms_key_id, g.name).toBe(key);
    }
    for (const component of ["auth", "authorizer"]) for (const g of resources(stackOf(synth, `dev-${component}`), "aws_cloudwatch_log_group")) expect(g.kms_key_id).toBeUndefined();
  });

  it('bootstrapState "s3" moves bootstrap\'s own state into the bucket it created', () => {
    const [dev] = synth.envs.filter((e) => e.name === "dev");
    const moved = synthesizeAll([{ ...dev!, bootstrapState: "s3" }]);
    expect(stackOf(moved, "dev-bootstrap").terraform.backend.s3).toMatchObject({ bucket: dev!.stateBucket, key: "dev/bootstrap/terraform.tfstate", use_lockfile: true });
  });
});
