import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../../app/services/actor.server";
import type { ApiKeyView } from "../../app/services/keys.server";
import { cliEnvironment, issuedKeyLine, type CliEnvironment } from "./run-cli";

const STACK_FRAME = /\n\s+at /;

// Each CLI process starts tsx and opens the database (~1–3 s), so the steps share one database.
describe("credits from the CLI", { timeout: 180_000 }, () => {
  let cli: CliEnvironment;
  let keyId: string;

  beforeAll(async () => {
    cli = await cliEnvironment();
    const admin = await cli.run("users", ["create", "--email", "credits@example.test", "--password", "a long enough password", "--role", "admin"]);
    expect(admin.code, admin.stderr).toBe(0);
    const api = await cli.run("apis", ["create", "--name", "Metered", "--prefix", "meter_live"]);
    expect(api.code, api.stderr).toBe(0);
  }, 180_000);
  afterAll(() => cli?.dispose());

  it("keys create --credits --refill issues a metered key and prints its balance and schedule", async () => {
    const created = await cli.run("keys", ["create", "--api", "meter_live", "--credits", "500", "--refill", "monthly:1000:15"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(issuedKeyLine("meter_live"));
    expect(created.stderr).toMatch(/credits {4}500 remaining, refilled monthly to 1000 \(next \d{4}-\d\d-15 00:00 UTC\)/);
    keyId = /\b(key_[0-9A-Za-z]{20})\b/.exec(created.stderr)![1]!;
    const listed = await cli.run("keys", ["list", "--api", "meter_live", "--json"]);
    expect((JSON.parse(listed.stdout) as ApiKeyView[])[0]!.credits).toMatchObject({ remaining: 500, refill: { interval: "monthly", amount: 1000, refillDay: 15 } });
  });

  it("keys update sets, adds and clears credits, each audited", async () => {
    const set = await cli.run("keys", ["update", keyId, "--credits", "20", "--refill", "daily:20"]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain("credits    20 remaining, refilled daily to 20");
    const added = await cli.run("keys", ["update", keyId, "--add-credits", "5"]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("credits    25 remaining");
    const cleared = await cli.run("keys", ["update", keyId, "--clear-credits"]);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).not.toContain("credits ");
    const keyward = await cli.open();
    try {
      const { data } = await keyward.audit.forKey(systemActor("test"), { keyId });
      const updates = data.filter((entry) => entry.action === "key.updated" || entry.action === "key.credits_added");
      expect(updates.length).toBeGreaterThanOrEqual(3);
      expect((await keyward.keys.get(systemActor("test"), keyId)).credits).toBeNull();
    } finally {
      await keyward.close();
    }
  });

  it("refuses what is not a balance or a schedule with exit 2 and a message naming the flag, never a stack trace", async () => {
    const cases: [string[], RegExp][] = [
      [["create", "--api", "meter_live", "--credits", "5.5"], /--credits must be a whole number/],
      [["create", "--api", "meter_live", "--credits", "10", "--refill", "weekly:5"], /--refill must look like daily:AMOUNT or monthly:AMOUNT\[:DAY\]/],
      [["create", "--api", "meter_live", "--refill", "daily:5"], /--refill needs --credits/],
      [["create", "--api", "meter_live", "--credits", "10", "--refill", "daily:5:3"], /--refill must look like/],
      [["create", "--api", "meter_live", "--credits", "10", "--refill", "monthly:5:32"], /--credits\/--refill/],
      [["update", keyId, "--clear-credits", "--add-credits", "3"], /--clear-credits removes the credits/],
    ];
    for (const [args, message] of cases) {
      const result = await cli.run("keys", args);
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(STACK_FRAME);
    }
  });
});
