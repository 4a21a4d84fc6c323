import { beforeAll, describe, expect, it } from "vitest";
import { resources, stackOf, synthesizeAll, type Synthesized, type TerraformJson } from "./synthesized.js";

let synth: Synthesized;
beforeAll(() => {
  synth = synthesizeAll();
});

const isReference = (v: string) => /^\$\{[^}]+\}$/.test(v);

/** Keys whose value would be a secret if it were a literal (Terraform snake_case and env var names). */
const SECRET_KEY = /(password|secret|secret_string|secret_binary|private_key|client_secret|api_key|token)$/i;
/** Shapes of real credentials anywhere in the text. */
const SECRET_TEXT: Array<[string, RegExp]> = [
  ["PEM private key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ["AWS access key id", /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
  ["Google OAuth client secret", /GOCSPX-[\w-]{10,}/],
  ["connection URL with credentials", /\b[a-z]+:\/\/[^/\s:@"]+:[^/\s@"]+@/],
  ["secret_string attribute", /"secret_string(_wo)?"\s*:/],
];
/** Local-only variables (functions/auth/config.ts) that would carry a secret value into Lambda. */
const LOCAL_SECRET_VARS = ["BETTER_AUTH_SECRET", "GOOGLE_CLIENT_SECRET", "DATABASE_URL"];

/** Every place a synthesized stack would put a secret value; empty when clean. */
function secretFindings(stack: string, json: unknown, text: string): string[] {
  const found: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}[${i}]`));
    if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (typeof v === "string" && SECRET_KEY.test(k) && v !== "" && !isReference(v)) found.push(`${stack}: ${path}.${k} is a literal`);
        if (LOCAL_SECRET_VARS.includes(k)) found.push(`${stack}: ${path}.${k} must not be set on a deployed function`);
        walk(v, `${path}.${k}`);
      }
    }
  };
  walk(json, "");
  for (const [what, pattern] of SECRET_TEXT) if (pattern.test(text)) found.push(`${stack}: contains a ${what}`);
  const types = Object.keys((json as TerraformJson).resource ?? {});
  for (const type of ["aws_secretsmanager_secret_version", "random_password"]) if (types.includes(type)) found.push(`${stack}: has ${type}`);
  return found;
}

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string[];
}
const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v as string]);

/** Identity-policy statements in a stack: inline/managed policy JSON and aws_iam_policy_document data sources. */
function identityStatements(json: TerraformJson): Statement[] {
  const docs: string[] = [
    ...resources(json, "aws_iam_role_policy").map((p) => p.policy),
    ...resources(json, "aws_iam_policy").map((p) => p.policy),
    ...resources(json, "aws_iam_role").flatMap((r) => list(r.inline_policy).map((p: any) => p.policy)),
  ].filter((p): p is string => typeof p === "string" && !p.startsWith("${data.aws_iam_policy_document."));
  const statements: Statement[] = docs.flatMap((doc) => {
    let parsed: { Statement: unknown };
    try {
      parsed = JSON.parse(doc);
    } catch {
      throw new Error(`IAM policy is not plain JSON, so it cannot be checked: ${doc.slice(0, 120)}`);
    }
    return list(parsed.Statement as any).map((s: any) => ({ Effect: s.Effect, Action: list(s.Action), Resource: list(s.Resource) }));
  });
  for (const doc of Object.values(json.data?.aws_iam_policy_document ?? {})) {
    for (const s of list(doc.statement as any) as any[]) {
      // Trust policies name principals, not resources.
      if (s.principals) continue;
      statements.push({ Effect: s.effect ?? "Allow", Action: list(s.actions), Resource: list(s.resources) });
    }
  }
  return statements;
}

/** Actions Lambda needs to attach to a VPC (AWSLambdaVPCAccessExecutionRole); EC2 cannot scope them to a resource. */
const ENI_ACTION = /^ec2:(CreateNetworkInterface|DescribeNetworkInterfaces|DeleteNetworkInterface|AssignPrivateIpAddresses|UnassignPrivateIpAddresses|DescribeSubnets)$/;
/** X-Ray's write actions have no resource either. */
const XRAY_ACTION = /^xray:(PutTraceSegments|PutTelemetryRecords)$/;

/** The statements of the role policy attached to the role named `roleName`. */
function roleStatements(json: TerraformJson, roleName: string): Statement[] {
  const roles = Object.entries(json.resource?.aws_iam_role ?? {}).filter(([, r]) => r.name === roleName);
  if (roles.length !== 1) throw new Error(`expected one role ${roleName}, found ${roles.length}`);
  const ref = `\${aws_iam_role.${roles[0]![0]}.id}`;
  const policies = resources(json, "aws_iam_role_policy").filter((p) => p.role === ref);
  const docs = policies.map((p) => /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(p.policy)?.[1]);
  return docs.flatMap((name) => list(json.data?.aws_iam_policy_document?.[name!]?.statement as any).map((s: any) => ({ Effect: s.effect ?? "Allow", Action: list(s.actions), Resource: list(s.resources) })));
}

describe("policy over every synthesized stack", () => {
  it("the secret scanner catches a planted secret (so a clean result means something)", () => {
    const planted = {
      resource: { aws_db_instance: { x: { password: "hunter2hunter2" } }, aws_lambda_function: { f: { environment: { variables: { BETTER_AUTH_SECRET: "x" } } } } },
    };
    const text = `${JSON.stringify(planted)} -----BEGIN RSA PRIVATE KEY----- postgres://app:pw@db:5432/x`;
    expect(secretFindings("planted", planted, text)).toEqual([
      "planted: .resource.aws_db_instance.x.password is a literal",
      "planted: .resource.aws_lambda_function.f.environment.variables.BETTER_AUTH_SECRET is a literal",
      "planted: .resource.aws_lambda_function.f.environment.variables.BETTER_AUTH_SECRET must not be set on a deployed function",
      "planted: contains a PEM private key",
      "planted: contains a connection URL with credentials",
    ]);
  });

  it("no secret value appears in any stack's Terraform JSON", () => {
    const findings = [...synth.stacks].flatMap(([name, json]) => secretFindings(name, json, synth.texts.get(name)!));
    expect(findings).toEqual([]);
  });

  it("secrets are created without a value and the database password is RDS-managed", () => {
    for (const env of synth.envs) {
      const auth = stackOf(synth, `${env.name}-auth`);
      // The auth secret (Better Auth + Google) and the proxy key: two secret-months, not three.
      expect(resources(auth, "aws_secretsmanager_secret").map((s) => s.name).sort()).toEqual([`authplane-${env.name}/auth`, `authplane-${env.name}/proxy`]);
      const [cluster] = resources(stackOf(synth, `${env.name}-database`), "aws_rds_cluster");
      expect(cluster?.manage_master_user_password).toBe(true);
      expect(cluster?.master_password).toBeUndefined();
    }
  });

  it("storage is encrypted: Aurora and the state bucket", () => {
    for (const env of synth.envs) {
      const [cluster] = resources(stackOf(synth, `${env.name}-database`), "aws_rds_cluster");
      expect(cluster?.storage_encrypted).toBe(true);
      const bootstrap = stackOf(synth, `${env.name}-bootstrap`);
      const sse = resources(bootstrap, "aws_s3_bucket_server_side_encryption_configuration");
      expect(sse).toHaveLength(1);
      expect(sse[0]?.rule[0].apply_server_side_encryption_by_default.sse_algorithm).toMatch(/^(AES256|aws:kms)$/);
      expect(resources(bootstrap, "aws_s3_bucket_public_access_block")[0]).toMatchObject({
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      });
    }
  });

  it("the database is not public and admits only its client security group", () => {
    for (const env of synth.envs) {
      const db = stackOf(synth, `${env.name}-database`);
      const instances = resources(db, "aws_rds_cluster_instance");
      expect(instances.length).toBeGreaterThan(0);
      for (const i of instances) expect(i.publicly_accessible).toBe(false);
      const text = synth.texts.get(`${env.name}-database`)!;
      expect(text).not.toMatch(/"0\.0\.0\.0\/0"|"::\/0"/);
      const ingress = [
        ...resources(db, "aws_vpc_security_group_ingress_rule"),
        ...resources(db, "aws_security_group_rule").filter((r) => r.type === "ingress"),
        ...resources(db, "aws_security_group").flatMap((g) => list(g.ingress) as any[]),
      ];
      expect(ingress.length).toBeGreaterThan(0);
      for (const rule of ingress) {
        const source = rule.referenced_security_group_id ?? rule.source_security_group_id ?? list(rule.security_groups)[0];
        expect(source, JSON.stringify(rule)).toMatch(/^\$\{aws_security_group\./);
      }
    }
  });

  it('IAM statements use Resource "*" only for the ENI actions Lambda needs in a VPC and X-Ray writes', () => {
    let checked = 0;
    for (const [name, json] of synth.stacks) {
      for (const s of identityStatements(json)) {
        checked++;
        if (s.Effect !== "Allow" || !s.Resource.includes("*")) continue;
        for (const action of s.Action) expect(action, `${name}: ${action} on "*"`).toMatch(new RegExp(`${ENI_ACTION.source}|${XRAY_ACTION.source}`));
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("no role may assign or unassign IPv6 addresses (AWS's VPC minimum does not need them)", () => {
    for (const [name, text] of synth.texts) expect(text, name).not.toMatch(/ec2:(Assign|Unassign)Ipv6Addresses/);
  });

  it("the auth function may read exactly its own secrets, never the master secret, and log in only as its own database user", () => {
    for (const env of synth.envs) {
      const auth = stackOf(synth, `${env.name}-auth`);
      const statements = roleStatements(auth, `authplane-${env.name}-auth`);
      const secrets = statements.filter((s) => s.Action.some((a) => a.startsWith("secretsmanager:")));
      const readable = secrets.flatMap((s) => s.Resource);
      // Exactly the secrets this stack creates (auth with Google inside, proxy): local references, none from the database stack.
      expect(readable.sort()).toEqual(Object.keys(auth.resource?.aws_secretsmanager_secret ?? {}).map((n) => `\${aws_secretsmanager_secret.${n}.arn}`).sort());
      expect(readable).toHaveLength(2);
      for (const s of secrets) expect(s.Action).toEqual(["secretsmanager:GetSecretValue"]);
      const connect = statements.filter((s) => s.Action.includes("rds-db:connect"));
      expect(connect).toHaveLength(1);
      expect(connect[0]!.Resource).toEqual([
        expect.stringMatching(new RegExp(`^arn:aws:rds-db:${env.region}:${env.accountId}:dbuser:\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-${env.name}-database\\.outputs\\.[^}]+\\}/authplane_service$`)),
      ]);
    }
  });

  it("only the migrate function may read the master secret, and it cannot be invoked by API Gateway", () => {
    for (const env of synth.envs) {
      const auth = stackOf(synth, `${env.name}-auth`);
      const [migrator] = resources(auth, "aws_lambda_function").filter((f) => f.function_name === `authplane-${env.name}-migrate`);
      // Every secret it is told about, it may read: no cold start fails on a secret it cannot open.
      const arnVars = Object.keys(migrator.environment.variables).filter((k) => k.endsWith("_SECRET_ARN")).sort();
      expect(arnVars).toEqual(["DB_SECRET_ARN"]);
      const migrate = roleStatements(auth, `authplane-${env.name}-migrate`).filter((s) => s.Action.some((a) => a.startsWith("secretsmanager:")));
      const readable = migrate.flatMap((s) => s.Resource);
      // The master secret only: migrate needs the database, never the Better Auth secret nor the proxy key.
      expect(readable).toHaveLength(1);
      expect(readable[0]).toContain(`cross-stack-reference-input-${env.name}-database`);
      const permissions = resources(auth, "aws_lambda_permission");
      for (const p of permissions) expect(p.function_name).not.toContain("migrator");
    }
  });

  it("every log group keeps logs for the environment's retention", () => {
    for (const env of synth.envs) {
      for (const component of ["auth", "authorizer"]) {
        const groups = resources(stackOf(synth, `${env.name}-${component}`), "aws_cloudwatch_log_group");
        expect(groups.length).toBeGreaterThan(0);
        for (const g of groups) expect(g.retention_in_days).toBe(env.logRetentionDays);
      }
    }
  });
});
