/** Per-test-file database on the run's shared PostgreSQL. */
import { inject } from "vitest";
import { createDatabase } from "./postgres.js";

export async function freshDatabaseUrl(prefix = "t"): Promise<string> {
  return createDatabase(inject("pgAdminUrl"), prefix);
}
