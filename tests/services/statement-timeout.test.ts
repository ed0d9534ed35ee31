import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../app/config.server";
import { toProblem } from "../../app/lib/http.server";
import { openDatabase, type DatabaseHandle } from "../../db/client.server";
import { testConfig } from "../support/keyward";

const POSTGRES_URL = "postgres://keyward@127.0.0.1:5432/keyward";

describe("KEYWARD_STATEMENT_TIMEOUT_MS", () => {
  it("defaults to 10 000 ms on Postgres", () => {
    expect(testConfig({ DATABASE_URL: POSTGRES_URL }).database).toEqual({ kind: "postgres", url: POSTGRES_URL, statementTimeoutMs: 10_000 });
  });

  it("is read from the environment", () => {
    expect(testConfig({ DATABASE_URL: POSTGRES_URL, KEYWARD_STATEMENT_TIMEOUT_MS: "2500" }).database).toMatchObject({ statementTimeoutMs: 2500 });
  });

  it.each(["0", "-5", "1.5", "ten seconds"])("refuses %j at start-up, naming the variable", (value) => {
    const load = () => loadConfig({ NODE_ENV: "test", DATABASE_URL: POSTGRES_URL, KEYWARD_STATEMENT_TIMEOUT_MS: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/KEYWARD_STATEMENT_TIMEOUT_MS/);
  });
});

describe.runIf(process.env.DATABASE_URL)("a statement longer than KEYWARD_STATEMENT_TIMEOUT_MS (Postgres)", () => {
  let database: DatabaseHandle | undefined;

  afterAll(async () => {
    await database?.close();
  });

  it("is cancelled by Postgres, and the request gets 503 with Retry-After", async () => {
    const config = testConfig({ DATABASE_URL: process.env.DATABASE_URL, KEYWARD_STATEMENT_TIMEOUT_MS: "200" });
    // The database the server opens from this configuration (createKeyward does the same).
    database = await openDatabase(config.database);
    await expect(database.db.execute(sql`select pg_sleep(0.05)`)).resolves.toBeDefined();

    const error = await database.db.execute(sql`select pg_sleep(1)`).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ cause: { code: "57014", message: expect.stringMatching(/statement timeout/) } });
    const response = toProblem(error, "req_statement_timeout");
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("5");
    expect(await response.json()).toMatchObject({ code: "service_unavailable" });
  });
});
