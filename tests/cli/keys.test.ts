import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../../app/services/actor.server";
import type { ApiKeyView } from "../../app/services/keys.server";
import { cliEnvironment, KEY_LINE, type CliEnvironment } from "./run-cli";

const STACK_FRAME = /\n\s+at /;
const OWNER = "builder@example.test";

// Each CLI process starts tsx and opens the database (~1–3 s), so the steps share one database.
describe("npm run keys", { timeout: 180_000 }, () => {
  let cli: CliEnvironment;
  let first: { key: string; id: string };
  let second: { key: string; id: string };

  const listJson = async (...args: string[]) => {
    const result = await cli.run("keys", ["list", "--json", ...args]);
    expect(result.code, result.stderr).toBe(0);
    return { keys: JSON.parse(result.stdout) as ApiKeyView[], stdout: result.stdout };
  };

  beforeAll(async () => {
    cli = await cliEnvironment();
    const owner = await cli.run("users", ["create", "--email", OWNER, "--password", "a long enough password"]);
    expect(owner.code, owner.stderr).toBe(0);
  }, 180_000);
  afterAll(() => cli?.dispose());

  it("create prints the key alone on stdout and its details on stderr", async () => {
    const created = await cli.run("keys", [
      "create", "--owner", OWNER, "--name", "Deploy bot", "--scopes", "read,write",
      "--expires-in-days", "30", "--rate-limit", "100/60", "--allowed-ips", "10.0.0.0/8, 2001:db8::/32", "--recoverable",
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(KEY_LINE);
    const key = created.stdout.trim();
    const id = /\b(key_[0-9A-Za-z]{20})\b/.exec(created.stderr)?.[1];
    expect(id).toBeDefined();
    expect(created.stderr).toContain(`${key.slice(0, 7)}…${key.slice(-4)}`);
    expect(created.stderr).toContain("100 requests per 60 s");
    expect(created.stderr).not.toContain(key);
    first = { key, id: id! };
  });

  it("list --json shows the key's settings, never its secret", async () => {
    const { keys, stdout } = await listJson("--owner", OWNER);
    expect(keys).toHaveLength(1);
    const [shown] = keys;
    expect(shown).toMatchObject({
      id: first.id,
      name: "Deploy bot",
      status: "active",
      start: first.key.slice(0, 7),
      last4: first.key.slice(-4),
      scopes: ["read", "write"],
      allowedIps: ["10.0.0.0/8", "2001:db8::/32"],
      rateLimit: { requests: 100, windowSeconds: 60 },
      recoverable: true,
    });
    const days = (Date.parse(shown!.expiresAt!) - Date.parse(shown!.createdAt)) / 86_400_000;
    expect(days).toBeCloseTo(30, 5);
    expect(stdout).not.toContain(first.key);
    expect(stdout).not.toMatch(/digest|ciphertext/);
  });

  it("rotate prints the new key alone; the old key keeps working for the grace period", async () => {
    const before = Date.now();
    const rotated = await cli.run("keys", ["rotate", first.id, "--grace-seconds", "3600"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(KEY_LINE);
    const key = rotated.stdout.trim();
    expect(key).not.toBe(first.key);
    expect(rotated.stderr).toContain(`The previous key ${first.id} keeps working until`);

    const { keys } = await listJson("--status", "active");
    const replacement = keys.find((k) => k.rotatedFrom === first.id);
    expect(replacement).toMatchObject({ scopes: ["read", "write"], allowedIps: ["10.0.0.0/8", "2001:db8::/32"], last4: key.slice(-4) });
    const old = keys.find((k) => k.id === first.id)!;
    expect(Date.parse(old.expiresAt!)).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(Date.parse(old.expiresAt!)).toBeLessThanOrEqual(Date.now() + 3600_000);
    second = { key, id: replacement!.id };
  });

  it("revoke is final, and the printed keys are the ones Keyward recognises", async () => {
    const revoked = await cli.run("keys", ["revoke", first.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`Revoked ${first.id}`);

    const table = await cli.run("keys", ["list", "--status", "revoked"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^${first.id}\\s+Deploy bot\\s+${OWNER}\\s+revoked\\s`, "m"));
    expect(table.stdout).not.toContain(second.id);

    const keyward = await cli.open();
    try {
      await expect(keyward.keys.authenticate(second.key)).resolves.toMatchObject({ code: "VALID", key: { id: second.id, scopes: ["read", "write"] } });
      await expect(keyward.keys.authenticate(first.key)).resolves.toMatchObject({ code: "REVOKED", key: { id: first.id } });
      // Each CLI action is audited once, as the system acting through the CLI.
      const trail = await keyward.audit.forKey(systemActor("test"), { keyId: first.id });
      expect(trail.data.map((entry) => [entry.action, entry.actorType, entry.details.via])).toEqual([
        ["key.revoked", "system", "cli"],
        ["key.rotated", "system", "cli"],
        ["key.created", "system", "cli"],
      ]);
    } finally {
      await keyward.close();
    }
  });

  it("reports errors clearly: exit 1 when Keyward refuses, exit 2 for a bad command line, never a stack trace", async () => {
    const unknownOwner = await cli.run("keys", ["create", "--owner", "nobody@example.test", "--name", "x", "--scopes", "read"]);
    // These fail (or finish) before opening the database, so they may run side by side.
    const [missingOwner, badValues, badRateLimit, unknownCommand, badId, badSecret, help] = await Promise.all([
      cli.run("keys", ["create", "--name", "x", "--scopes", "read"]),
      cli.run("keys", ["create", "--owner", OWNER, "--name", "x", "--scopes", "read,root", "--allowed-ips", "10.0.0.1/8", "--rate-limit", "5/0"]),
      cli.run("keys", ["create", "--owner", OWNER, "--name", "x", "--scopes", "read", "--rate-limit", "ten"]),
      cli.run("keys", ["frobnicate"]),
      cli.run("keys", ["rotate", "not-a-key-id"]),
      cli.run("keys", ["list"], { env: { KEYWARD_SECRET: "too-short" } }),
      cli.run("keys", ["create", "--help"]),
    ]);
    expect(unknownOwner).toMatchObject({ code: 1, stdout: "" });
    expect(unknownOwner.stderr).toContain("User nobody@example.test not found");
    expect(missingOwner).toMatchObject({ code: 2, stdout: "" });
    expect(missingOwner.stderr).toContain("--owner is required");
    expect(badValues).toMatchObject({ code: 2, stdout: "" });
    expect(badValues.stderr).toContain("--scopes[1]:");
    expect(badValues.stderr).toContain('--allowed-ips[0]: "10.0.0.1/8" has host bits set');
    expect(badValues.stderr).toContain("--rate-limit[windowSeconds]:");
    expect(badRateLimit).toMatchObject({ code: 2, stdout: "" });
    expect(badRateLimit.stderr).toContain("--rate-limit must look like REQUESTS/SECONDS");
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain('unknown command "frobnicate"');
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain("KEY_ID: Not a key id");
    expect(badSecret).toMatchObject({ code: 1, stdout: "" });
    expect(badSecret.stderr).toContain("KEYWARD_SECRET must be 32 random bytes");
    for (const result of [unknownOwner, missingOwner, badValues, badRateLimit, unknownCommand, badId, badSecret]) {
      expect(result.stderr).not.toMatch(STACK_FRAME);
    }
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: npm run keys -- create --owner EMAIL --name NAME --scopes read,write");
  });
});
