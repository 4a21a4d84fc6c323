import { describe, expect, it } from "vitest";
import pg from "pg";
import { freshDatabaseUrl } from "./database.js";

describe("test PostgreSQL", () => {
  it("gives each test file its own empty database on a real server", async () => {
    const url = await freshDatabaseUrl("smoke");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query("select current_database() as db, version() as v");
    await client.end();
    expect(rows[0].db).toMatch(/^smoke_/);
    expect(rows[0].v).toMatch(/PostgreSQL 1\d/);
  });
});
