import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../app/config.server";
import { toProblem } from "../../app/lib/http.server";
import { createKeyward, type Keyward } from "../../app/services/keyward.server";
import { freshPostgresUrl } from "../support/database";
import { testConfig, TEST_HASHING } from "../support/keyward";

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
  let database: { url: string; drop(): Promise<void> };
  const opened: Keyward[] = [];

  beforeAll(async () => {
    database = (await freshPostgresUrl())!;
  });

  afterAll(async () => {
    for (const keyward of opened) await keyward.close();
    await database?.drop();
  });

  /** The services as the server starts them: configuration from the environment, and the database that configuration opens. */
  async function serverFrom(env: Record<string, string>): Promise<Keyward> {
    const keyward = await createKeyward({ config: testConfig({ DATABASE_URL: database.url, ...env }), hashing: TEST_HASHING });
    opened.push(keyward);
    return keyward;
  }

  const setting = async (keyward: Keyward) => rowsOf<{ statement_timeout: string }>(await keyward.database.db.execute(sql`show statement_timeout`))[0]!.statement_timeout;

  it("is 10 s on the server's connections when the variable is not set", async () => {
    expect(await setting(await serverFrom({}))).toBe("10s");
  });

  it("is cancelled by Postgres, and the request gets 503 with Retry-After", async () => {
    const keyward = await serverFrom({ KEYWARD_STATEMENT_TIMEOUT_MS: "200" });
    expect(await setting(keyward)).toBe("200ms");
    await expect(keyward.database.db.execute(sql`select pg_sleep(0.05)`)).resolves.toBeDefined();

    const error = await keyward.database.db.execute(sql`select pg_sleep(1)`).then(
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

function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
