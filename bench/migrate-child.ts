/**
 * One migration run in its own process, so its peak RSS is the migration's alone (not the
 * benchmark's dump generator or the test runner's). Prints one JSON line:
 * {"ms":n,"cpu_ms":n,"pg_cpu_ms":n|null,"peak_rss_mb":n,"phases_ms":{…},"report":{…}} (cpu_ms: this process's own CPU, PostgreSQL's not included). Used by `npm run bench:migrate` and the memory test.
 *
 *   tsx bench/migrate-child.ts --dump FILE --database-url URL
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import pg from "pg";
import { migrateSupabase } from "../ops/supabase/migrate.js";

const { values } = parseArgs({ options: { dump: { type: "string" }, "database-url": { type: "string" } }, strict: true });
if (!values.dump || !values["database-url"]) throw new Error("usage: tsx bench/migrate-child.ts --dump FILE --database-url URL");
// One connection, so the backend whose CPU is read below is the one that runs the import.
const pool = new pg.Pool({ connectionString: values["database-url"], max: 1 });
const backend = (await pool.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`)).rows[0]!.pid;
/**
 * The backend's own CPU (utime + stime, /proc ticks of 10 ms): unlike wall time it barely moves
 * with the load other work puts on the machine. Null when PostgreSQL runs elsewhere.
 */
function backendCpuMs(): number | null {
  try {
    const fields = readFileSync(`/proc/${backend}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}
const pgCpu0 = backendCpuMs();
const t0 = performance.now();
const phases_ms: Record<string, number> = {};
const report = await migrateSupabase({ dump: values.dump, pool, onPhase: (phase, ms) => (phases_ms[phase] = ms) });
const ms = Math.round(performance.now() - t0);
const pgCpu1 = backendCpuMs();
await pool.end();
const cpu = process.cpuUsage();
console.log(JSON.stringify({ ms, cpu_ms: Math.round((cpu.user + cpu.system) / 1000), pg_cpu_ms: pgCpu0 === null || pgCpu1 === null ? null : pgCpu1 - pgCpu0, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024), phases_ms, report }));
