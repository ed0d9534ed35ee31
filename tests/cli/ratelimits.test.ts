import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../../app/services/actor.server";
import type { IdentityView } from "../../app/services/identities.server";
import type { ApiKeyView } from "../../app/services/keys.server";
import { cliEnvironment, issuedKeyLine, type CliEnvironment } from "./run-cli";

const STACK_FRAME = /\n\s+at /;
/** Named limits the CLIs set are bounded like any other surface's: 1000 in a minute at most. */
const BOUND = { KEYWARD_MAX_RATE_LIMIT: "1000/60" };

// Each CLI process starts tsx and opens the database (~1–3 s), so the steps share one database.
describe("named rate limits from the CLI: keys and identities", { timeout: 180_000 }, () => {
  let cli: CliEnvironment;
  let keyId: string;
  let identityId: string;

  const run = (script: "keys" | "identities", args: string[]) => cli.run(script, args, { env: BOUND });

  beforeAll(async () => {
    cli = await cliEnvironment();
    const admin = await cli.run("users", ["create", "--email", "limits@example.test", "--password", "a long enough password", "--role", "admin"]);
    expect(admin.code, admin.stderr).toBe(0);
    const api = await cli.run("apis", ["create", "--name", "Limited", "--prefix", "lim_live"]);
    expect(api.code, api.stderr).toBe(0);
  }, 180_000);
  afterAll(() => cli?.dispose());

  it("keys create --ratelimit (repeated) issues a key with those limits and prints them", async () => {
    const created = await run("keys", ["create", "--api", "lim_live", "--external-id", "cust_1", "--ratelimit", "requests=10/1s", "--ratelimit", "daily=1000/86400"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(issuedKeyLine("lim_live"));
    expect(created.stderr).toContain("ratelimits requests=10/1s, daily=1000/86400s");
    keyId = /\b(key_[0-9A-Za-z]{20})\b/.exec(created.stderr)![1]!;
    const listed = await run("keys", ["list", "--api", "lim_live", "--json"]);
    expect((JSON.parse(listed.stdout) as ApiKeyView[])[0]!.ratelimits).toEqual([
      { name: "requests", limit: 10, durationSeconds: 1 },
      { name: "daily", limit: 1000, durationSeconds: 86_400 },
    ]);
  });

  it("keys update --ratelimit replaces the limits, --clear-ratelimits removes them; both audited", async () => {
    const updated = await run("keys", ["update", keyId, "--ratelimit", "burst=5/1"]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain("ratelimits burst=5/1s");
    const cleared = await run("keys", ["update", keyId, "--clear-ratelimits"]);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toContain("ratelimits none (not limited)");
    const keyward = await cli.open();
    try {
      const { data } = await keyward.audit.forKey(systemActor("test"), { keyId });
      const changes = data.filter((entry) => entry.action === "key.updated").map((entry) => (entry.details as { changes: { ratelimits?: unknown } }).changes.ratelimits);
      expect(changes.reverse()).toEqual([
        { from: [{ name: "requests", limit: 10, durationSeconds: 1 }, { name: "daily", limit: 1000, durationSeconds: 86_400 }], to: [{ name: "burst", limit: 5, durationSeconds: 1 }] },
        { from: [{ name: "burst", limit: 5, durationSeconds: 1 }], to: [] },
      ]);
    } finally {
      await keyward.close();
    }
  });

  it("identities create and update take shared limits; show prints them and each key's", async () => {
    const created = await run("identities", ["create", "--api", "lim_live", "--external-id", "cust_2", "--ratelimit", "shared=100/60s", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const identity = JSON.parse(created.stdout) as IdentityView;
    expect(identity.ratelimits).toEqual([{ name: "shared", limit: 100, durationSeconds: 60 }]);
    identityId = identity.id;
    const updated = await run("identities", ["update", identityId, "--ratelimit", "shared=200/60", "--ratelimit", "daily=1000/86400"]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain("ratelimits shared=200/60s, daily=1000/86400s");
    const issued = await run("keys", ["create", "--api", "lim_live", "--external-id", "cust_2", "--ratelimit", "requests=3/1"]);
    expect(issued.code, issued.stderr).toBe(0);
    const shown = await run("identities", ["show", identityId]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain("ratelimits shared=200/60s, daily=1000/86400s");
    expect(shown.stdout).toMatch(/^key_\w+\s+cust_2\s+active\s+requests=3\/1s\s/m);
  });

  it("refuses limits looser than KEYWARD_MAX_RATE_LIMIT (exit 1) and malformed ones (exit 2), without a stack trace", async () => {
    for (const [script, args] of [
      ["keys", ["create", "--api", "lim_live", "--ratelimit", "daily=5000/86400"]],
      ["keys", ["update", keyId, "--ratelimit", "burst=20/1"]],
      ["identities", ["create", "--api", "lim_live", "--external-id", "cust_3", "--ratelimit", "daily=1001/86400"]],
      ["identities", ["update", identityId, "--ratelimit", "shared=2000/60"]],
    ] as const) {
      const refused = await run(script, [...args]);
      expect(refused.code, `${script} ${args.join(" ")}: ${refused.stderr}`).toBe(1);
      expect(refused.stderr).toContain("KEYWARD_MAX_RATE_LIMIT");
      expect(refused.stderr).not.toMatch(STACK_FRAME);
    }
    for (const args of [["update", keyId, "--ratelimit", "ten per second"], ["update", keyId, "--ratelimit", "a=1/1", "--clear-ratelimits"], ["create", "--owner", "limits@example.test", "--name", "root", "--scopes", "read", "--ratelimit", "a=1/1"]]) {
      const wrong = await run("keys", args);
      expect(wrong.code, wrong.stderr).toBe(2);
      expect(wrong.stderr).not.toMatch(STACK_FRAME);
    }
    const bad = await run("identities", ["update", identityId, "--ratelimit", "Bad Name=1/1"]);
    expect(bad.code).toBe(2);
  });
});
