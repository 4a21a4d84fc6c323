/**
 * Progress of a long import on stderr, only when stderr is a terminal: a log file or CI gets the
 * summary and the JSON report, not a stream of carriage returns.
 */
import type { Pool } from "pg";

export interface ImportProgress {
  phase: "staging" | "writing" | "done";
  rowsRead: number;
  usersWritten: number;
}

export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): ((p: ImportProgress) => void) & { end(): void } {
  const started = performance.now();
  let shown = false;
  let last = 0;
  const print = (p: ImportProgress) => {
    if (!stream.isTTY) return;
    const now = performance.now();
    if (p.phase === "staging" && now - last < 200) return;
    last = now;
    const rate = Math.round(p.rowsRead / Math.max((now - started) / 1000, 0.001));
    const what = p.phase === "staging" ? "reading" : p.phase === "writing" ? "writing" : "done";
    stream.write(`\r${what}: ${p.rowsRead.toLocaleString("en")} rows read (${rate.toLocaleString("en")}/s), ${p.usersWritten.toLocaleString("en")} users written\x1b[K`);
    shown = true;
  };
  return Object.assign(print, {
    end() {
      if (shown) stream.write("\n");
      shown = false;
    },
  });
}

/**
 * The import CLIs' common run: connect, import with progress on a terminal, then the summary on
 * stderr and the JSON report last on stdout (what scripts parse), and always close the pool.
 */
export async function runImport<R>(
  connecting: Promise<Pool>,
  run: (pool: Pool, onProgress: (p: ImportProgress) => void) => Promise<R>,
  summary: (report: R) => string,
): Promise<void> {
  const pool = await connecting;
  const progress = progressPrinter();
  try {
    const report = await run(pool, progress);
    progress.end();
    console.error(summary(report));
    console.log(JSON.stringify(report));
  } finally {
    progress.end();
    await pool.end();
  }
}
