/**
 * One migration run in its own process, so its peak RSS is the migration's alone (not the
 * benchmark's dump generator or the test runner's). Prints one JSON line:
 * {"ms":n,"cpu_ms":n,"peak_rss_mb":n,"phases_ms":{…},"report":{…}} (cpu_ms: this process's own CPU, PostgreSQL's not included). Used by `npm run bench:migrate` and the memory test.
 *
 *   tsx bench/migrate-child.ts --dump FILE --database-url URL
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { migrateSupabase } from "../ops/supabase/migrate.js";

const { values } = parseArgs({ options: { dump: { type: "string" }, "database-url": { type: "string" } }, strict: true });
if (!values.dump || !values["database-url"]) throw new Error("usage: tsx bench/migrate-child.ts --dump FILE --database-url URL");
const pool = new pg.Pool({ connectionString: values["database-url"], max: 2 });
const t0 = performance.now();
const phases_ms: Record<string, number> = {};
const report = await migrateSupabase({ dump: values.dump, pool, onPhase: (phase, ms) => (phases_ms[phase] = ms) });
const ms = Math.round(performance.now() - t0);
await pool.end();
const cpu = process.cpuUsage();
console.log(JSON.stringify({ ms, cpu_ms: Math.round((cpu.user + cpu.system) / 1000), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024), phases_ms, report }));
