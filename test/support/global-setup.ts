/**
 * vitest global setup: one PostgreSQL for the run (or DATABASE_URL), handed to every test file
 * through `inject("pgAdminUrl")`. The embedded server lives in a child process
 * (postgres-process.ts) so its exit hooks cannot touch vitest's exit code.
 */
import type { TestProject } from "vitest/node";
import { startPostgresChild } from "./postgres.js";

export default async function setup(project: TestProject) {
  const pg = await startPostgresChild();
  project.provide("pgAdminUrl", pg.adminUrl);
  return pg.stop;
}

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}
