/**
 * Apps as data: onboarding, membership and offboarding without touching auth-service code.
 *
 *   npm run apps -- apply [--dir apps] [--dry-run]
 *   npm run apps -- grant   --app hiring --email a@x.org --role recruiter
 *   npm run apps -- revoke  --app hiring --email a@x.org [--role recruiter]
 *   npm run apps -- members --app hiring
 *   npm run apps -- offboard --email a@x.org [--delete-passkeys] [--keep-sign-in] [--dry-run]
 *   npm run apps -- reinstate --email a@x.org
 *
 * The database is --database-url, DATABASE_URL or the `make dev` one; with REDIS_URL (several
 * servers), offboard also ends the sessions held in Redis. Every command that changes something
 * appends an audit row in the same transaction as the change.
 */
import { AppsError, loadApps } from "./apps/definition.js";
import { connectDatabase, isMain, parseCli, resolveDatabase, runCli, UsageError } from "./cli.js";
import { auditing } from "./db.js";
import { forgetSessionsInRedis } from "./apps/redis-sessions.js";
import { redactClientSecrets, rotateOidcSecret } from "./apps/oidc-clients.js";
import { applyApps, grant, members, offboard, reinstate, revoke } from "./apps/store.js";

const USAGE = `usage: npm run apps -- <command> [options]

commands
  apply      create/update every app in --dir (default apps/) and its roles
  grant      --app <slug> --email <email> --role <role>
  revoke     --app <slug> --email <email> [--role <role>]   (no role: remove from the app)
  members    --app <slug>
  offboard   --email <email> [--delete-passkeys] [--keep-sign-in]
             remove from every app, block sign-in, end all sessions
  reinstate  --email <email>                                lift the sign-in block offboard set
  rotate-oidc-secret  --app <slug>                         new secret for the app's confidential OIDC client (printed once)

options
  --database-url <url>   default: DATABASE_URL, else .dev/database-url (make dev)
  --redis-url <url>      default: REDIS_URL (offboard also ends sessions kept in Redis)
  --dry-run              apply/offboard: report what would change, change nothing
  -h, --help`;

const OPTIONS = {
  app: { type: "string" },
  email: { type: "string" },
  role: { type: "string" },
  dir: { type: "string", default: "apps" },
  "database-url": { type: "string" },
  "redis-url": { type: "string" },
  "delete-passkeys": { type: "boolean", default: false },
  "keep-sign-in": { type: "boolean", default: false },
  "dry-run": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** The commands USAGE lists (so a command added there is accepted here too). */
const COMMANDS = new Set([...USAGE.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]!));

/** Flags a command cannot run without, checked before connecting (a usage error is not a database error). */
const REQUIRED: Record<string, (keyof typeof OPTIONS)[]> = { grant: ["app", "email", "role"], revoke: ["app", "email"], members: ["app"], offboard: ["email"], reinstate: ["email"], "rotate-oidc-secret": ["app"] };

function need(value: string | undefined, flag: string, command: string): string {
  if (!value) throw new UsageError(`${command} needs --${flag}\n\n${USAGE}`);
  return value;
}

/** Run one command; returns the lines to print. Exported for tests. */
export async function runApps(argv: string[], env: Record<string, string | undefined> = process.env): Promise<string[]> {
  const { values: v, positionals } = parseCli(argv, OPTIONS, USAGE, true);
  const command = positionals[0];
  if (v.help) return [USAGE];
  if (!command) throw new UsageError(`no command given\n\n${USAGE}`);
  if (!COMMANDS.has(command)) throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"\n\n${USAGE}`);
  for (const flag of REQUIRED[command] ?? []) need(v[flag] as string | undefined, flag, command);
  const pool = await connectDatabase(resolveDatabase(v["database-url"], env));
  // Every command but `members` changes something: its transaction also writes the audit row.
  const audit = { action: `apps.${command}`, app: v.app ?? null, subject: v.email ?? null, detail: command === "members" ? undefined : auditDetail };
  try {
    const run = async (): Promise<string[]> => { switch (command) {
      case "apply": {
        const changes = await applyApps(pool, loadApps(v.dir), { dryRun: v["dry-run"] });
        const prefix = v["dry-run"] ? "would: " : "";
        return changes.length ? changes.map((c) => prefix + c) : ["no changes: the database already matches the app files"];
      }
      case "grant":
        return [await grant(pool, { app: need(v.app, "app", command), email: need(v.email, "email", command), role: need(v.role, "role", command) })];
      case "revoke":
        return [await revoke(pool, { app: need(v.app, "app", command), email: need(v.email, "email", command), role: v.role })];
      case "members": {
        const list = await members(pool, need(v.app, "app", command));
        return list.length ? list.map((m) => `${m.email}\t${m.roles.join(",")}\t${m.name}`) : [`no members in ${v.app}`];
      }
      case "offboard": {
        const email = need(v.email, "email", command);
        const r = await offboard(pool, { email, deletePasskeys: v["delete-passkeys"], keepSignIn: v["keep-sign-in"], dryRun: v["dry-run"] });
        const redisUrl = v["redis-url"] ?? env.REDIS_URL;
        const redis = redisUrl && !v["dry-run"] ? await forgetSessionsInRedis(redisUrl, r.userId, r.sessionTokens) : 0;
        const verb = v["dry-run"] ? "would remove" : "removed";
        return [
          `${verb} ${r.email} from ${r.apps.length ? r.apps.join(", ") : "no apps"}`,
          r.blocked ? `${v["dry-run"] ? "would block" : "blocked"} sign-in (undo with: apps reinstate --email ${r.email})` : "sign-in left open (--keep-sign-in)",
          `${v["dry-run"] ? "would end" : "ended"} ${r.sessionsRevoked} session(s)${redisUrl ? ` (and ${redis} Redis key(s))` : ""}: no new token can be minted`,
          v["delete-passkeys"] ? `${verb} ${r.passkeysDeleted} passkey(s)` : "passkeys kept (add --delete-passkeys to remove them)",
          "tokens already issued are refused once the authorizers' revocation feed refreshes (within a minute by default)",
        ];
      }
      case "reinstate":
        return [await reinstate(pool, { email: need(v.email, "email", command) })];
      case "rotate-oidc-secret":
        return [await rotateOidcSecret(pool, need(v.app, "app", command))];
      default:
        throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    } };
    return command === "members" ? await run() : await auditing(audit, run);
  } finally {
    await pool.end();
  }
}

/** What the audit row keeps of a command's result: its report lines and counts, never session tokens or ids. */
function auditDetail(result: unknown): Record<string, unknown> | null {
  // An OIDC client secret is printed once and stored only hashed: never in the audit trail.
  if (typeof result === "string") return { result: redactClientSecrets(result) };
  if (Array.isArray(result)) return { changes: result.map((r) => (typeof r === "string" ? redactClientSecrets(r) : r)) };
  if (result && typeof result === "object") return Object.fromEntries(Object.entries(result).filter(([k]) => !/token|userId/i.test(k)));
  return null;
}

if (isMain(import.meta)) {
  runCli(
    "apps",
    async () => console.log((await runApps(process.argv.slice(2))).join("\n")),
    (err) => err instanceof AppsError,
  );
}
