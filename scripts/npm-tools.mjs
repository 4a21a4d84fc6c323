// `make help`'s second half: every npm script, with what it is for (new scripts show their command).
import { readFileSync } from "node:fs";

const ABOUT = {
  synth: "synthesize Terraform JSON (cdktf synth)",
  build: "bundle the Lambda functions into dist/functions/",
  test: "the whole test suite (vitest run)",
  dev: "the whole platform locally (same as make dev)",
  typecheck: "tsc --noEmit",
  migrate: "create/update Better Auth's and authplane's tables; needs only the database",
  "migrate:supabase": "move users from a Supabase auth dump: --dump FILE [--dry-run] [--verbose]",
  "migrate:cognito": "move users from Cognito list-users JSON / CSV: --users FILE… [--dry-run] [--verbose]",
  apps: "apps as data: apply | grant | revoke | members | offboard | reinstate",
  audit: "read the audit trail: [--email x] [--app y] [--since 7d] [--json]; --prune-older-than 365d",
  "fuzz:authorizer": "100,000 mutated tokens and events through the authorizer",
  "bench:synth": "benchmark: synth of every environment",
  "bench:authorizer": "benchmark: token verification",
  "bench:auth-cold": "benchmark: auth Lambda cold import",
  "bench:migrate": "benchmark: Supabase migration of 100k and 1M users",
  "bench:service": "benchmark: the auth service under load",
  "bench:auth-faults": "benchmark: the auth service through database faults",
};

const { scripts } = JSON.parse(readFileSync("package.json", "utf8"));
for (const [name, command] of Object.entries(scripts)) console.log(`  npm run ${name.padEnd(18)} ${ABOUT[name] ?? command}`);
