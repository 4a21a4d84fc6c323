/**
 * The environment files: one JSON file per environment (= one AWS account) in `environments/`.
 * This is the only place infra reads files; stacks receive the typed `Environment` it returns.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, relative, isAbsolute } from "node:path";
import { z } from "zod";

/** Retention values CloudWatch Logs accepts (PutRetentionPolicy); anything else fails at apply. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const hostname = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const hostnameOrLocalhost = (v: string) => v === "localhost" || hostname.test(v);

const httpsUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === "https:" && (u.pathname === "/" || u.pathname === "") && !u.search && !u.hash && !v.endsWith("/");
    } catch {
      return false;
    }
  },
  { error: "expected an https origin (scheme and host, no path or trailing slash)" },
);

const auroraSchema = z
  .object({
    /** Aurora capacity units when idle; 0 lets the cluster pause. @default 0 */
    minCapacity: z.number().min(0, { error: "expected a number from 0 to 256" }).max(256, { error: "expected a number from 0 to 256" }).multipleOf(0.5, { error: "expected a multiple of 0.5" }).default(0),
    /** Upper bound in ACUs. */
    maxCapacity: z.number().min(1, { error: "expected a number from 1 to 256" }).max(256, { error: "expected a number from 1 to 256" }).multipleOf(0.5, { error: "expected a multiple of 0.5" }),
    /** Idle seconds before a 0-ACU cluster pauses. */
    secondsUntilAutoPause: z.number().int({ error: "expected a whole number of seconds" }).min(300, { error: "expected 300 to 86400 seconds" }).max(86400, { error: "expected 300 to 86400 seconds" }),
    /** Refuse `terraform destroy` of the cluster and take a final snapshot. */
    deletionProtection: z.boolean(),
    /** Daily backup window, UTC `hh:mm-hh:mm` (at least 30 minutes; kept clear of the Sunday 04:00-05:00 maintenance window). @default "02:00-03:00" */
    backupWindow: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, { error: "expected a UTC window hh:mm-hh:mm" }).default("02:00-03:00"),
    /** Connections kept free of the auth function's pools: the migrate function, operators, RDS's own sessions. @default 20 */
    reservedConnections: z.number().int({ error: "expected a whole number" }).min(5, { error: "expected at least 5" }).default(20),
  })
  .strict()
  .check((ctx) => {
    if (ctx.value.maxCapacity < ctx.value.minCapacity) {
      ctx.issues.push({ code: "custom", path: ["maxCapacity"], input: ctx.value.maxCapacity, message: `expected at least minCapacity (${ctx.value.minCapacity})` });
    }
    const [from, to] = ctx.value.backupWindow.split("-").map((t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3)));
    const minutes = ((to! - from!) + 1440) % 1440;
    if (minutes < 30) ctx.issues.push({ code: "custom", path: ["backupWindow"], input: ctx.value.backupWindow, message: "expected a window of at least 30 minutes" });
  });

/**
 * Aurora PostgreSQL Serverless v2's `max_connections`, derived by RDS from the memory of the
 * MAXIMUM capacity: AWS's published points (1 ACU 189, 4 ACU 823, 8 ACU 1669, 16 ACU 3360, 32+
 * 5000) lie on 211.3 per ACU - 22; with a minimum of 0 or 0.5 ACU it is capped at 2000.
 */
export function auroraMaxConnections(maxCapacity: number, minCapacity: number): number {
  const fromMemory = Math.min(5000, Math.floor(211.3 * maxCapacity - 22));
  return minCapacity <= 0.5 ? Math.min(2000, fromMemory) : fromMemory;
}

const throttleSchema = z
  .object({
    burstLimit: z.number().int({ error: "expected a whole number" }).min(1, { error: "expected at least 1" }),
    rateLimit: z.number().min(1, { error: "expected at least 1 request per second" }),
  })
  .strict();

const authFunctionSchema = z
  .object({
    /** Most auth Lambda instances at once (reserved concurrency): the cap on database clients. @default 10 */
    reservedConcurrency: z.number().int({ error: "expected a whole number" }).min(1, { error: "expected 1 to 1000" }).max(1000, { error: "expected 1 to 1000" }).default(10),
    /** Database connections per instance; an instance serves one request at a time. @default 2 */
    poolMax: z.number().int({ error: "expected a whole number" }).min(1, { error: "expected 1 to 10" }).max(10, { error: "expected 1 to 10" }).default(2),
    /** Whole-API throttle. @default { burstLimit: 100, rateLimit: 50 } */
    throttle: throttleSchema.default({ burstLimit: 100, rateLimit: 50 }),
    /** Throttle on each sign-in route (credential stuffing, passkey and OAuth floods). @default { burstLimit: 20, rateLimit: 10 } */
    signInThrottle: throttleSchema.default({ burstLimit: 20, rateLimit: 10 }),
  })
  .strict();

const email = z.string().regex(/^[^\s@]+@[^\s@]+\.[a-z]{2,63}$/i, { error: "expected an email address" });

const alertsSchema = z
  .object({
    /** Addresses subscribed to the alarm topic (each confirms by mail once). @default [] */
    email: z.array(email).default([]),
    /**
     * Encryption of the alarm topic: a customer managed KMS key ($1/month; CloudWatch cannot
     * publish under the AWS managed aws/sns key) or none. Alarm notifications carry alarm names,
     * thresholds and metric values, no personal data. @default "customer-managed"
     */
    topicKey: z.enum(["customer-managed", "none"], { error: 'expected "customer-managed" or "none"' }).default("customer-managed"),
  })
  .strict();

const environmentBase = z
  .object({
    /** Must equal the file's base name: `prod.json` holds `"name": "prod"`. */
    name: z.string().regex(/^[a-z][a-z0-9-]{0,19}$/, { error: "expected lowercase letters, digits and dashes, starting with a letter (at most 20)" }),
    /** The one AWS account this environment may touch (the provider's allowed_account_ids). */
    accountId: z.string().regex(/^\d{12}$/, { error: "expected 12 digits" }),
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: "expected an AWS region name" }),
    /** Named AWS CLI profile. @default the default credential chain */
    profile: z.string().min(1).optional(),
    /** Role the provider assumes in the account. @default none */
    assumeRoleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, { error: "expected an IAM role ARN" }).optional(),
    /** S3 bucket holding Terraform state; created by `<env>-bootstrap`. */
    stateBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: "expected an S3 bucket name (3-63 lowercase letters, digits, dots, dashes)" }),
    /** Custom domain for the auth service; needs `hostedZoneId`. @default the API Gateway URL */
    authDomain: z.string().regex(hostname, { error: "expected a DNS name" }).optional(),
    /** Route53 hosted zone that holds `authDomain`. */
    hostedZoneId: z.string().regex(/^Z[A-Z0-9]{1,31}$/, { error: "expected a Route53 hosted zone id" }).optional(),
    /** That zone's domain; `authDomain` must lie within it. */
    hostedZoneName: z.string().regex(hostname, { error: "expected a DNS name" }).optional(),
    /** Origins (apps) allowed to call the auth service. */
    trustedOrigins: z.array(httpsUrl).min(1, { error: "expected at least one origin" }),
    /** Apps on other registrable domains that share the passkey RP ID (WebAuthn Related Origin Requests). @default [] */
    relatedOrigins: z.array(httpsUrl).default([]),
    /** WebAuthn relying-party id (a registrable domain shared by the apps). @default none: passkeys off */
    passkeyRpId: z.string().refine(hostnameOrLocalhost, { error: "expected a DNS name" }).optional(),
    /** Display name shown by authenticators. @default "authplane" */
    passkeyRpName: z.string().min(1).default("authplane"),
    /** Domains under which apps may live (passkey related origins). */
    allowedRpIds: z.array(z.string().refine(hostnameOrLocalhost, { error: "expected a DNS name" })).min(1, { error: "expected at least one domain" }),
    /** `aud` of the JWTs the auth service issues. @default "authplane" */
    jwtAudience: z.string().min(1).default("authplane"),
    /** Cookie domain to share sessions across subdomains. @default host-only cookies */
    cookieDomain: z.string().regex(hostname, { error: "expected a DNS name" }).optional(),
    aurora: auroraSchema,
    /** CloudWatch Logs retention for every log group. */
    logRetentionDays: z.number().refine((v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v), {
      error: `expected a CloudWatch retention value (${LOG_RETENTION_DAYS.join(", ")})`,
    }),
    /** KMS key (ARN) for every log group; its key policy must admit logs.<region>.amazonaws.com. @default CloudWatch's own encryption */
    logKmsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/, { error: "expected a KMS key ARN" }).optional(),
    /** Days a deleted secret stays restorable: 0 (delete at once) or 7 to 30. @default 30 */
    secretRecoveryWindowDays: z.number().int({ error: "expected a whole number" }).refine((v) => v === 0 || (v >= 7 && v <= 30), { error: "expected 0 or 7 to 30" }).default(30),
    /** The auth function's connection budget and throttles. */
    auth: authFunctionSchema.default({ reservedConcurrency: 10, poolMax: 2, throttle: { burstLimit: 100, rateLimit: 50 }, signInThrottle: { burstLimit: 20, rateLimit: 10 } }),
    /** Where alarms go. @default no subscriptions (the topic still exists) */
    alerts: alertsSchema.default({ email: [], topicKey: "customer-managed" }),
    /** AWS X-Ray active tracing on the functions and the API stage. @default false */
    tracing: z.boolean().default(false),
    /** Bootstrap's own state: a local file at the repository root, or (after `terraform init -migrate-state`, docs/operations.md) the bucket it created. @default "local" */
    bootstrapState: z.enum(["local", "s3"], { error: 'expected "local" or "s3"' }).default("local"),
    /** Add a NAT gateway for IdPs without IPv6 (costs money per hour). @default false */
    natGateway: z.boolean().default(false),
    /** Tags on every resource (via the provider's default_tags). @default {} */
    tags: z.record(z.string().min(1).max(128), z.string().max(256)).default({}),
  })
  .strict();

export const environmentSchema = environmentBase.check((ctx) => {
    const { authDomain, hostedZoneId } = ctx.value;
    if ((authDomain === undefined) !== (hostedZoneId === undefined)) {
      const missing = authDomain === undefined ? "authDomain" : "hostedZoneId";
      ctx.issues.push({ code: "custom", path: [missing], input: undefined, message: "authDomain and hostedZoneId go together: set both or neither" });
    }
    for (const issue of crossFieldIssues(ctx.value)) ctx.issues.push({ code: "custom", input: valueAt(ctx.value, issue.path), ...issue });
  });

const within = (host: string, domain: string) => host === domain || host.endsWith(`.${domain}`);

/**
 * Checks across fields that would otherwise pass synth and break at run time: a passkey
 * ceremony from an origin outside the RP ID fails in the browser; a certificate for a name
 * outside its zone never validates; a connection budget past max_connections fails logins
 * under load.
 */
function crossFieldIssues(env: z.output<typeof environmentBase>): { path: PropertyKey[]; message: string }[] {
  const issues: { path: PropertyKey[]; message: string }[] = [];
  env.trustedOrigins.forEach((origin, i) => {
    let host: string;
    try {
      host = new URL(origin).hostname;
    } catch {
      return; // the origin's own check reports it
    }
    if (env.passkeyRpId && !within(host, env.passkeyRpId)) {
      issues.push({ path: ["trustedOrigins", i], message: `${host} is outside passkeyRpId ${JSON.stringify(env.passkeyRpId)}: passkeys would fail there; use an origin under it or change passkeyRpId` });
    }
    if (!env.allowedRpIds.some((rp) => within(host, rp))) {
      issues.push({ path: ["trustedOrigins", i], message: `${host} is outside every allowedRpIds entry (${env.allowedRpIds.join(", ")})` });
    }
  });
  if (env.passkeyRpId && !env.allowedRpIds.includes(env.passkeyRpId)) {
    issues.push({ path: ["passkeyRpId"], message: `expected one of allowedRpIds (${env.allowedRpIds.join(", ")})` });
  }
  if (env.authDomain && env.hostedZoneId && env.hostedZoneName === undefined) {
    issues.push({ path: ["hostedZoneName"], message: "required with authDomain: the hosted zone's domain, so authDomain can be checked to lie within it" });
  }
  if (env.authDomain && env.hostedZoneName && !within(env.authDomain, env.hostedZoneName)) {
    issues.push({ path: ["authDomain"], message: `${env.authDomain} is outside the hosted zone ${env.hostedZoneName}: its certificate could never validate` });
  }
  const max = auroraMaxConnections(env.aurora.maxCapacity, env.aurora.minCapacity);
  const budget = env.auth.reservedConcurrency * env.auth.poolMax + env.aurora.reservedConnections;
  if (budget > max) {
    issues.push({
      path: ["auth", "reservedConcurrency"],
      message: `auth.reservedConcurrency × auth.poolMax + aurora.reservedConnections = ${env.auth.reservedConcurrency} × ${env.auth.poolMax} + ${env.aurora.reservedConnections} = ${budget} exceeds max_connections ${max} at aurora.maxCapacity ${env.aurora.maxCapacity}`,
    });
  }
  if (env.aurora.minCapacity > 0 && env.aurora.secondsUntilAutoPause !== 300) {
    issues.push({ path: ["aurora", "secondsUntilAutoPause"], message: "only applies when aurora.minCapacity is 0 (the cluster never pauses otherwise); leave it at 300" });
  }
  return issues;
}

/** A validated environment file. */
export type Environment = z.infer<typeof environmentSchema>;

/** A right value for each field, quoted in error messages. */
const EXAMPLES: Record<string, unknown> = {
  name: "dev",
  accountId: "123456789012",
  region: "eu-west-1",
  profile: "authplane-dev",
  assumeRoleArn: "arn:aws:iam::123456789012:role/authplane-deploy",
  stateBucket: "authplane-dev-tfstate-123456789012",
  authDomain: "auth.example.com",
  hostedZoneId: "Z0123456789ABCDEFGHIJ",
  hostedZoneName: "example.com",
  trustedOrigins: ["https://app.example.com"],
  "trustedOrigins[]": "https://app.example.com",
  relatedOrigins: ["https://app.example-brand.com"],
  "relatedOrigins[]": "https://app.example-brand.com",
  passkeyRpId: "example.com",
  passkeyRpName: "Example Corp",
  allowedRpIds: ["example.com"],
  "allowedRpIds[]": "example.com",
  jwtAudience: "authplane",
  cookieDomain: "example.com",
  aurora: { minCapacity: 0, maxCapacity: 2, secondsUntilAutoPause: 300, deletionProtection: true },
  "aurora.minCapacity": 0,
  "aurora.maxCapacity": 2,
  "aurora.secondsUntilAutoPause": 300,
  "aurora.deletionProtection": true,
  "aurora.backupWindow": "02:00-03:00",
  "aurora.reservedConnections": 20,
  logKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
  secretRecoveryWindowDays: 30,
  auth: { reservedConcurrency: 10, poolMax: 2 },
  "auth.reservedConcurrency": 10,
  "auth.poolMax": 2,
  "auth.throttle": { burstLimit: 100, rateLimit: 50 },
  "auth.signInThrottle": { burstLimit: 20, rateLimit: 10 },
  alerts: { email: ["oncall@example.com"] },
  "alerts.email": ["oncall@example.com"],
  "alerts.email[]": "oncall@example.com",
  "alerts.topicKey": "customer-managed",
  tracing: false,
  bootstrapState: "local",
  logRetentionDays: 30,
  natGateway: false,
  tags: { team: "platform" },
  "tags[]": "platform",
};

type PathKey = PropertyKey;

function formatPath(path: readonly PathKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), "");
}

/** The examples key: array indices and record keys collapse to `[]`. */
function exampleKey(path: readonly PathKey[]): string {
  const parts = path.map((k) => (typeof k === "number" ? "[]" : String(k)));
  if (parts[0] === "tags" && parts.length > 1) return "tags[]";
  return parts.reduce((out, p) => (p === "[]" ? `${out}[]` : out ? `${out}.${p}` : p), "");
}

function valueAt(data: unknown, path: readonly PathKey[]): unknown {
  let cur = data;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array ${JSON.stringify(value)}`;
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

function withExample(path: readonly PathKey[], text: string): string {
  const key = exampleKey(path);
  return key in EXAMPLES ? `${text} (example: ${JSON.stringify(EXAMPLES[key])})` : text;
}

function fieldsOf(path: readonly PathKey[]): string[] {
  const nested: Record<string, { shape: object }> = { aurora: auroraSchema, auth: authFunctionSchema, alerts: alertsSchema };
  const shape = path.length === 0 ? environmentSchema.shape : path.length === 1 ? nested[String(path[0])]?.shape : undefined;
  return shape ? Object.keys(shape) : [];
}

/** The allowed key a typo most likely meant: at most two edits away (Levenshtein; too small for a dependency). */
function closest(key: string, allowed: string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row;
    }
    return prev[b.length]!;
  };
  const ranked = allowed.map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) })).sort((x, y) => x.d - y.d);
  return ranked[0] && ranked[0].d <= 2 ? ranked[0].k : undefined;
}

/** One line per issue: `<file>: <field path>: <what was wrong>, got <value> (example: <right value>)`. */
function formatIssue(file: string, data: unknown, issue: z.core.$ZodIssue): string[] {
  if (issue.code === "unrecognized_keys") {
    const allowed = fieldsOf(issue.path);
    return issue.keys.map((key) => {
      const at = formatPath([...issue.path, key]);
      const guess = closest(key, allowed);
      const hint = guess ? ` (did you mean ${JSON.stringify(guess)}?)` : "";
      return `${file}: ${at}: unknown field${hint}${allowed.length ? `; allowed: ${allowed.join(", ")}` : ""}`;
    });
  }
  const at = formatPath(issue.path) || "(file)";
  const value = valueAt(data, issue.path);
  if (issue.code === "invalid_type" && value === undefined) {
    return [`${file}: ${at}: ${withExample(issue.path, "required field is missing")}`];
  }
  const what = issue.code === "invalid_type" ? `expected ${issue.expected}` : issue.message;
  const got = value === undefined ? "" : `, got ${describe(value)}`;
  return [`${file}: ${at}: ${withExample(issue.path, `${what}${got}`)}`];
}

/** `JSON.parse` reports a character offset (Node 20) or a line/column (newer V8); turn both into line:column. */
function jsonErrorLocation(text: string, message: string): string {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return `line ${lc[1]}, column ${lc[2]}`;
  const pos = /position (\d+)/.exec(message);
  const offset = pos ? Number(pos[1]) : text.length;
  const before = text.slice(0, offset).split("\n");
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}

/** Parse and validate one environment file; returns the environment or the lines describing what is wrong. */
export function parseEnvironmentFile(file: string): { env: Environment } | { errors: string[] } {
  const shown = displayPath(file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    return { errors: [`${shown}: cannot read file (${(err as Error).message})`] };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    return { errors: [`${shown}: invalid JSON at ${jsonErrorLocation(text, message)}: ${message}`] };
  }
  const result = environmentSchema.safeParse(data);
  if (!result.success) return { errors: result.error.issues.flatMap((issue) => formatIssue(shown, data, issue)) };
  const expected = basename(file, ".json");
  if (result.data.name !== expected) {
    return { errors: [`${shown}: name: expected the file's base name ${JSON.stringify(expected)}, got ${describe(result.data.name)} (example: ${JSON.stringify(expected)})`] };
  }
  return { env: result.data };
}

/**
 * Load and validate every `*.json` in `dir`, sorted by name. `only` (or, when omitted, `ENV` /
 * `ENVIRONMENT` from the process) keeps just that environment; it must name an existing file.
 * Any problem in any file throws ONE Error listing every problem, one per line.
 */
export function loadEnvironments(dir: string, only: string | undefined = selectedEnvironment()): Environment[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  } catch (err) {
    throw new Error(`${displayPath(dir)}: cannot list environment files (${(err as Error).message})`);
  }
  const names = files.map((f) => basename(f, ".json"));
  if (files.length === 0) throw new Error(`${displayPath(dir)}: no environment files (*.json); copy one from the README to start`);
  if (only !== undefined && !names.includes(only)) {
    throw new Error(`unknown environment ${JSON.stringify(only)} (ENV/ENVIRONMENT); available: ${names.join(", ")}`);
  }
  const chosen = only === undefined ? files : files.filter((f) => basename(f, ".json") === only);
  const envs: Environment[] = [];
  const errors: string[] = [];
  for (const f of chosen) {
    const result = parseEnvironmentFile(join(dir, f));
    if ("env" in result) envs.push(result.env);
    else errors.push(...result.errors);
  }
  if (errors.length > 0) throw new Error(errors.join("\n"));
  return envs;
}

/** `ENV` wins over `ENVIRONMENT`; empty means all. */
export function selectedEnvironment(vars: NodeJS.ProcessEnv = process.env): string | undefined {
  return vars.ENV || vars.ENVIRONMENT || undefined;
}
