/**
 * `terraform validate` and then `terraform test` of every synthesized stack against Terraform's
 * mock AWS provider: each stack
 * must plan AND apply (Terraform evaluates every expression, function call, count and for_each
 * with the mock's values), which catches what `terraform validate` cannot: a cidrsubnet() on a
 * bad range, an element() of an empty list, a for_each over unknown keys, a dependency cycle.
 *
 * Each stack is copied to a temporary directory beside a generated `authplane.tftest.hcl` that
 * mocks the AWS provider, gives the few computed values expressions depend on a realistic shape
 * (an IPv6 /56, availability zones, an account id) and replaces every cross-stack
 * `terraform_remote_state` with `override_data` (those outputs are all scalars). No network, no
 * AWS account: the provider binary comes from the offline mirror only for its schema.
 *
 *   npx tsx scripts/test-stacks.ts [--outdir cdktf.out] [--concurrency N]
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  firstAloneThenPool,
  INIT,
  printResults,
  stackName,
  stacksAndConcurrency,
  terraform,
  VALIDATE,
  type StackResult,
  type Terraform,
  type TerraformOptions,
} from "./terraform-runner.js";
import { functionMocks, mockAwsProvider } from "../infra/terraform-test-mocks.js";

export type TestStacksOptions = TerraformOptions;

/** validate first (its diagnostics are the clearest for a malformed configuration), then test. */
const VALIDATE_AND_TEST = [INIT, VALIDATE, ["test", "-no-color"]];
/** Each generated test file holds two runs: plan, then apply. */
const BOTH_RUNS_PASSED = /2 passed, 0 failed/;

const hcl = (value: string) => JSON.stringify(value);

/** A plausible value for a cross-stack output, by what its name says it is. */
function mockOutputValue(key: string): string {
  if (/secret_arn$/.test(key)) return "arn:aws:secretsmanager:eu-west-1:111111111111:secret:mock-AbCdEf";
  if (/_arn$|arn$/.test(key)) return "arn:aws:lambda:eu-west-1:111111111111:function:mock";
  if (/api_endpoint$/.test(key)) return "https://mock.execute-api.eu-west-1.amazonaws.com";
  if (/endpoint$/.test(key)) return "mock.cluster-abc.eu-west-1.rds.amazonaws.com";
  if (/cluster_resource_id$/.test(key)) return "cluster-MOCKRESOURCEID";
  if (/function_name$/.test(key)) return "mock-function";
  return `mock-${key.slice(-12).replace(/[^a-z0-9]/gi, "").toLowerCase()}`;
}

/** The account and region every mocked value names, as STACK_MOCKS and mockOutputValue do. */
const MOCK_ACCOUNT = { accountId: "111111111111", region: "eu-west-1", functionName: "mock" };

/**
 * What stacks need beyond functionMocks: the data sources and resources whose computed values
 * expressions depend on (an IPv6 /56, availability zones) or the provider validates (ARNs).
 */
const STACK_MOCKS = [
  `mock_data "aws_availability_zones" {
  defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
}`,
  `mock_data "aws_caller_identity" {
  defaults = { account_id = "111111111111", arn = "arn:aws:iam::111111111111:root" }
}`,
  `mock_data "aws_region" {
  defaults = { name = "eu-west-1" }
}`,
  `mock_resource "aws_vpc" {
  defaults = { ipv6_cidr_block = "2001:db8:1234:5600::/56", arn = "arn:aws:ec2:eu-west-1:111111111111:vpc/vpc-mock" }
}`,
  `mock_resource "aws_secretsmanager_secret" {
  defaults = { arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:mock-AbCdEf" }
}`,
  `mock_resource "aws_apigatewayv2_api" {
  defaults = { arn = "arn:aws:apigateway:eu-west-1::/apis/mockapi", execution_arn = "arn:aws:execute-api:eu-west-1:111111111111:mockapi", api_endpoint = "https://mockapi.execute-api.eu-west-1.amazonaws.com" }
}`,
  `mock_resource "aws_sns_topic" {
  defaults = { arn = "arn:aws:sns:eu-west-1:111111111111:mock" }
}`,
  `mock_resource "aws_kms_key" {
  defaults = { arn = "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000", key_id = "00000000-0000-0000-0000-000000000000" }
}`,
  `mock_resource "aws_s3_bucket" {
  defaults = { arn = "arn:aws:s3:::mock" }
}`,
  `mock_resource "aws_rds_cluster" {
  defaults = {
    arn                 = "arn:aws:rds:eu-west-1:111111111111:cluster:mock"
    cluster_resource_id = "cluster-MOCKRESOURCEID"
    master_user_secret  = [{ kms_key_id = "mock", secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rds-mock-AbCdEf", secret_status = "active" }]
  }
}`,
  `mock_resource "aws_acm_certificate_validation" {
  defaults = { certificate_arn = "arn:aws:acm:eu-west-1:111111111111:certificate/mock" }
}`,
  `mock_resource "aws_acm_certificate" {
  # The real provider knows each validation option's domain at plan time (its for_each keys);
  # the mock must too.
  override_during = plan
  # Every computed attribute fixed: a value drawn at plan must equal the one at apply.
  defaults = {
    arn                       = "arn:aws:acm:eu-west-1:111111111111:certificate/mock"
    id                        = "arn:aws:acm:eu-west-1:111111111111:certificate/mock"
    key_algorithm             = "RSA_2048"
    not_after                 = "2027-01-01T00:00:00Z"
    not_before                = "2026-01-01T00:00:00Z"
    pending_renewal           = false
    renewal_eligibility       = "INELIGIBLE"
    renewal_summary           = []
    status                    = "ISSUED"
    subject_alternative_names = ["auth.example.com"]
    tags_all                  = {}
    type                      = "AMAZON_ISSUED"
    validation_emails         = []
    domain_validation_options = [{ domain_name = "auth.example.com", resource_record_name = "_x.auth.example.com.", resource_record_type = "CNAME", resource_record_value = "_y.acm-validations.aws." }]
  }
}`,
];

/**
 * The test file for one stack: the mock provider, and an override for every remote state the
 * stack reads, with a value for every output key it references.
 */
export function tftestFor(stackJson: string): string {
  return tftestForModules([{ address: "", json: stackJson }]);
}

/** Overrides for the remote states of each stack, addressed inside its module (`module.<stack>.`) or at the root (""). */
function remoteStateOverrides(address: string, stackJson: string): string[] {
  const refs = new Map<string, Set<string>>();
  for (const m of stackJson.matchAll(/data\.terraform_remote_state\.([\w-]+)\.outputs\.([\w.-]+?)\}/g)) {
    if (!refs.has(m[1]!)) refs.set(m[1]!, new Set());
    refs.get(m[1]!)!.add(m[2]!);
  }
  return [...refs].map(([name, keys]) => {
    const outputs = [...keys].sort().map((k) => `      ${hcl(k)} = ${hcl(mockOutputValue(k))}`).join("\n");
    return `override_data {\n  target = ${address}data.terraform_remote_state.${name}\n  values = {\n    outputs = {\n${outputs}\n    }\n  }\n}\n`;
  });
}

/** The test file for a root whose stacks are the given modules (address "" = the root itself). */
export function tftestForModules(stacks: readonly { address: string; json: string }[]): string {
  const overrides = stacks.flatMap((st) => remoteStateOverrides(st.address, st.json));
  return `# Generated by scripts/test-stacks.ts: plan and apply against the mock AWS provider.
${mockAwsProvider([...STACK_MOCKS, ...functionMocks(MOCK_ACCOUNT)])}
${overrides.join("\n")}
run "plan" {
  command = plan
}

run "apply" {
  command = apply
}
`;
}

/**
 * `terraform test` destroys what it applied; `prevent_destroy` (the state bucket) would fail
 * that teardown, so the copy under test drops it. The synth tests assert it on the real stack.
 */
export function withoutPreventDestroy(stackJson: string): string {
  const json = JSON.parse(stackJson) as { resource?: Record<string, Record<string, { lifecycle?: { prevent_destroy?: boolean } }>> };
  for (const byName of Object.values(json.resource ?? {})) {
    for (const resource of Object.values(byName)) if (resource.lifecycle?.prevent_destroy) delete resource.lifecycle.prevent_destroy;
  }
  return JSON.stringify(json, null, 2);
}

function testOne(dir: string, workRoot: string, tf: Terraform): Promise<StackResult> {
  const stack = stackName(dir);
  const work = join(workRoot, stack);
  cpSync(dir, work, { recursive: true, filter: (src) => !src.includes("/.terraform") });
  const json = readFileSync(join(work, "cdk.tf.json"), "utf8");
  writeFileSync(join(work, "cdk.tf.json"), withoutPreventDestroy(json));
  writeFileSync(join(work, "authplane.tftest.hcl"), tftestFor(json));
  return tf.chain(stack, work, VALIDATE_AND_TEST, BOTH_RUNS_PASSED);
}

/**
 * One root module holding every stack as a child module (`module "<stack>"`), each stripped of
 * its backend and provider blocks so the root's mocked provider serves them all: one init, one
 * validate and one test for all stacks, instead of loading the AWS provider's schema three
 * times per stack. Every resource of every stack is still planned and applied.
 */
export function combinedRoot(dirs: readonly string[], work: string): string {
  const modules: Record<string, { source: string }> = {};
  const stacks: { address: string; json: string }[] = [];
  for (const dir of dirs) {
    const stack = dir.split("/").at(-1)!;
    const target = join(work, "stacks", stack);
    cpSync(dir, target, { recursive: true, filter: (src) => !src.includes("/.terraform") });
    const json = JSON.parse(withoutPreventDestroy(readFileSync(join(target, "cdk.tf.json"), "utf8"))) as Record<string, any>;
    delete json.provider;
    delete json.terraform?.backend;
    const text = JSON.stringify(json, null, 2);
    writeFileSync(join(target, "cdk.tf.json"), text);
    modules[stack] = { source: `./stacks/${stack}` };
    stacks.push({ address: `module.${stack}.`, json: text });
  }
  const root = { terraform: { required_providers: { aws: { source: "aws", version: "5.100.0" } } }, provider: { aws: [{ region: "eu-west-1" }] }, module: modules };
  writeFileSync(join(work, "main.tf.json"), JSON.stringify(root, null, 2));
  writeFileSync(join(work, "authplane.tftest.hcl"), tftestForModules(stacks));
  return work;
}

/** validate + test of every stack at once (see combinedRoot); one result naming every stack. */
export async function testStacksCombined(dirs: readonly string[], options: TestStacksOptions = {}): Promise<StackResult> {
  const work = mkdtempSync(join(tmpdir(), "authplane-tftest-all-"));
  try {
    combinedRoot(dirs, work);
    return await terraform(options).chain(dirs.map(stackName).join(","), work, VALIDATE_AND_TEST, BOTH_RUNS_PASSED);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Run `terraform test` for every stack in `dirs` in its own directory; the first init fills the plugin cache alone. */
export async function testStacks(dirs: readonly string[], options: TestStacksOptions = {}): Promise<StackResult[]> {
  const tf = terraform(options);
  const workRoot = mkdtempSync(join(tmpdir(), "authplane-tftest-"));
  try {
    return await firstAloneThenPool(dirs, options.concurrency, (dir) => testOne(dir, workRoot, tf));
  } finally {
    rmSync(workRoot, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { outdir: { type: "string", default: "cdktf.out" }, concurrency: { type: "string" }, "per-stack": { type: "boolean", default: false }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(`usage: npx tsx scripts/test-stacks.ts [--outdir cdktf.out] [--per-stack [--concurrency N]]

Runs terraform test (mock AWS provider, plan and apply) for every stack under <outdir>/stacks
(synthesize first: make synth), all stacks as modules of one root (fast), or --per-stack each in
its own directory (clearer failures). Offline with TF_CLI_CONFIG_FILE at the plugin mirror.
Exits 1 if any stack fails.`);
    return;
  }
  const { dirs, concurrency } = stacksAndConcurrency(values);
  const results = values["per-stack"] ? await testStacks(dirs, { concurrency }) : [await testStacksCombined(dirs)];
  const failed = printResults(results);
  console.log(values["per-stack"] ? `${results.length - failed}/${results.length} stacks plan and apply under the mock provider` : `${failed ? "FAIL" : "ok"}: ${dirs.length} stacks as modules of one root`);
  if (failed > 0) process.exit(1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
