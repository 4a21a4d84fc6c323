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
  })
  .strict()
  .check((ctx) => {
    if (ctx.value.maxCapacity < ctx.value.minCapacity) {
      ctx.issues.push({ code: "custom", path: ["maxCapacity"], input: ctx.value.maxCapacity, message: `expected at least minCapacity (${ctx.value.minCapacity})` });
    }
  });

export const environmentSchema = z
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
    /** Add a NAT gateway for IdPs without IPv6 (costs money per hour). @default false */
    natGateway: z.boolean().default(false),
    /** Tags on every resource (via the provider's default_tags). @default {} */
    tags: z.record(z.string().min(1).max(128), z.string().max(256)).default({}),
  })
  .strict()
  .check((ctx) => {
    const { authDomain, hostedZoneId } = ctx.value;
    if ((authDomain === undefined) !== (hostedZoneId === undefined)) {
      const missing = authDomain === undefined ? "authDomain" : "hostedZoneId";
      ctx.issues.push({ code: "custom", path: [missing], input: undefined, message: "authDomain and hostedZoneId go together: set both or neither" });
    }
  });

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
  const shape = path.length === 0 ? environmentSchema.shape : path[0] === "aurora" && path.length === 1 ? auroraSchema.shape : undefined;
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
