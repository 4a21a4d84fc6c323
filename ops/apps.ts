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
 * The database is DATABASE_URL (or --database-url); with REDIS_URL (several servers), offboard
 * also ends the sessions held in Redis.
 */
import pg from "pg";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { AppsError, loadApps } from "./apps/definition.js";
import { forgetSessionsInRedis } from "./apps/redis-sessions.js";
import { rotateOidcSecret } from "./apps/oidc-clients.js";
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
  rotate-oidc-secret --app <slug>                          new secret for the app's confidential OIDC client (printed once)

options
  --database-url <url>   default: DATABASE_URL
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

function need(value: string | undefined, flag: string, command: string): string {
  if (!value) throw new AppsError(`${command} needs --${flag}\n\n${USAGE}`);
  return value;
}

/** Run one command; returns the lines to print. Exported for tests. */
export async function runApps(argv: string[], env: Record<string, string | undefined> = process.env): Promise<string[]> {
  const { values: v, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  const command = positionals[0];
  if (v.help || !command) return [USAGE];
  const databaseUrl = v["database-url"] ?? env.DATABASE_URL;
  if (!databaseUrl) throw new AppsError("no database: set DATABASE_URL or pass --database-url");
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  try {
    switch (command) {
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
        throw new AppsError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } finally {
    await pool.end();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  runApps(process.argv.slice(2))
    .then((lines) => console.log(lines.join("\n")))
    .catch((err: Error) => {
      console.error(err instanceof AppsError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? err.message : `apps: ${err.message}`);
      process.exit(1);
    });
}
