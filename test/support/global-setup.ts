/**
 * vitest global setup: start one PostgreSQL for the run (or use DATABASE_URL) and hand its
 * admin URL to every test file through `inject("pgAdminUrl")`.
 */
import type { TestProject } from "vitest/node";
import { startPostgres } from "./postgres.js";

export default async function setup(project: TestProject) {
  const pgServer = await startPostgres();
  project.provide("pgAdminUrl", pgServer.adminUrl);
  return async () => {
    await pgServer.stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}
