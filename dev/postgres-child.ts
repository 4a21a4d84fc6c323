/**
 * `make dev`'s PostgreSQL in a process of its own, started detached (its own process group) so
 * the terminal's Ctrl-C reaches only the platform, which closes its connections first and then
 * ends this process's stdin; only then does the server stop. Run in the same process group, the
 * server would get the SIGINT too, drop every connection at once and each pool would log it.
 *
 *   node --import tsx dev/postgres-child.ts '{"dataDir":".dev/pg","port":5433}'
 *
 * Prints one JSON line, `{"adminUrl": …}` or `{"error": …}`.
 */
import { startPostgres } from "../test/support/postgres.js";

const { dataDir, port } = JSON.parse(process.argv[2] ?? "{}") as { dataDir: string; port: number };
process.on("SIGINT", () => {});
try {
  const pg = await startPostgres({ dataDir, port });
  process.stdout.write(`${JSON.stringify({ adminUrl: pg.adminUrl })}\n`);
  process.stdin.resume();
  // The parent ended (or closed our stdin on purpose): stop the server, then go.
  process.stdin.on("end", () => {
    void pg.stop().finally(() => process.exit(0));
  });
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
  process.exit(1);
}
