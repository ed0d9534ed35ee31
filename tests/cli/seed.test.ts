import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockDataDir } from "../../db/client.server";
import { systemActor } from "../../app/services/actor.server";
import { cliEnvironment, type CliEnvironment } from "./run-cli";

const STACK_FRAME = /\n\s+at /;
const system = systemActor("test");

/** The password the seed printed for an email, read from its "EMAIL  PASSWORD  ROLE" table. */
function printedPassword(stdout: string, email: string): string {
  const match = new RegExp(`^${email.replace(/\./g, "\\.")}\\s+(\\S+)\\s+(admin|member)$`, "m").exec(stdout);
  expect(match, `no password printed for ${email}`).not.toBeNull();
  return match![1]!;
}

// Each CLI process starts tsx and opens the database (~1–3 s), so the steps share one database.
describe("npm run db:migrate and db:seed", { timeout: 180_000 }, () => {
  let cli: CliEnvironment;
  beforeAll(async () => {
    cli = await cliEnvironment();
  });
  afterAll(() => cli?.dispose());

  it("migrate applies the migrations and says which database it targeted", async () => {
    const migrated = await cli.run("migrate", []);
    expect(migrated.code, migrated.stderr).toBe(0);
    const target = cli.env.DATABASE_URL ? new URL(cli.env.DATABASE_URL).pathname.slice(1) : path.join(cli.env.KEYWARD_DATA_DIR!, "pglite");
    expect(migrated.stdout).toContain(target);
    expect(migrated.stdout).toMatch(/up to date \(\d+ migration\(s\), latest \d{4}_\w+\)/);
  });

  it("seeds an admin, a member and keys in every status, and a second run changes nothing", async () => {
    const seeded = await cli.run("seed", []);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout).toContain("Seeded 7 root keys");
    expect(seeded.stdout).toContain("Seeded 2 APIs (acme_live, acme_test), 4 identities and 8 issued keys");
    expect(seeded.stdout).not.toMatch(/(kw|acme_live|acme_test)_[0-9A-Za-z]{50,}/);

    const again = await cli.run("seed", []);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("Already seeded: admin@keyward.local exists");
    expect(printedPassword(again.stdout, "admin@keyward.local")).toBe(printedPassword(seeded.stdout, "admin@keyward.local"));

    const keyward = await cli.open();
    try {
      const users = await keyward.users.list(system);
      expect(users.map((user) => [user.email, user.role])).toEqual([
        ["admin@keyward.local", "admin"],
        ["member@keyward.local", "member"],
      ]);
      // The printed credentials are the real ones.
      for (const { email, role } of users) {
        await expect(keyward.auth.login(email, printedPassword(seeded.stdout, email))).resolves.toMatchObject({ user: { email, role } });
      }

      const { data: keys } = await keyward.keys.list(system, { kind: "root", limit: 100 });
      expect(keys).toHaveLength(7);
      expect(new Set(keys.map((key) => key.status))).toEqual(new Set(["active", "disabled", "expired", "revoked"]));
      const replacement = keys.find((key) => key.rotatedFrom !== null)!;
      const predecessor = keys.find((key) => key.id === replacement.rotatedFrom)!;
      // Rotated with a grace period: the old key still works, for a while.
      expect(replacement.status).toBe("active");
      expect(predecessor.status).toBe("active");
      expect(Date.parse(predecessor.expiresAt!)).toBeGreaterThan(Date.now());
      expect(keys.filter((key) => key.recoverable)).toHaveLength(1);

      // Two APIs of two owners, with the permission vocabulary and its implications.
      const { data: apis } = await keyward.apis.list(system);
      const byPrefix = new Map(apis.map((api) => [api.prefix, api]));
      const owners = new Map(users.map((user) => [user.id, user.email]));
      expect(apis.map((api) => [api.prefix, owners.get(api.ownerId)]).sort()).toEqual([
        ["acme_live", "admin@keyward.local"],
        ["acme_test", "member@keyward.local"],
      ]);
      expect(byPrefix.get("acme_live")).toMatchObject({
        permissions: ["orders.read", "orders.write", "billing.read", "billing.write", "admin"],
        implications: { admin: ["orders.write", "billing.write"], "orders.write": ["orders.read"] },
      });
      const { data: identities } = await keyward.identities.list(system, { limit: 100 });
      expect(identities.map((identity) => [byPrefix.get("acme_live")!.id === identity.apiId ? "acme_live" : "acme_test", identity.externalId]).sort()).toEqual([
        ["acme_live", "cust_globex"],
        ["acme_live", "cust_initech"],
        ["acme_live", "cust_umbrella"],
        ["acme_test", "cust_globex"],
      ]);

      // Issued keys in every status, a rotation in its grace period, all within their API's vocabulary.
      const { data: issued } = await keyward.keys.list(system, { kind: "issued", limit: 100 });
      expect(issued).toHaveLength(8);
      expect(new Set(issued.map((key) => key.status))).toEqual(new Set(["active", "disabled", "expired", "revoked"]));
      const successor = issued.find((key) => key.rotatedFrom !== null)!;
      expect(issued.find((key) => key.id === successor.rotatedFrom)).toMatchObject({ status: "active", permissions: successor.permissions, identityId: successor.identityId });
      for (const key of issued) {
        const api = apis.find((candidate) => candidate.id === key.apiId)!;
        expect(key.start.startsWith(`${api.prefix}_`), key.name).toBe(true);
        expect(key.ownerId).toBe(api.ownerId);
        expect(key.scopes).toEqual([]);
      }
      expect(issued.filter((key) => key.identityId === null).map((key) => key.permissions)).toEqual([["*"]]);
    } finally {
      await keyward.close();
    }
  });

  it("refuses to seed with NODE_ENV=production unless --force", async () => {
    const refused = await cli.run("seed", [], { env: { NODE_ENV: "production" } });
    expect(refused).toMatchObject({ code: 1, stdout: "" });
    expect(refused.stderr).toContain("Refusing to seed with NODE_ENV=production");
    expect(refused.stderr).toContain("--force");
    expect(refused.stderr).not.toMatch(STACK_FRAME);
  });

  it("on the embedded database, a second process on the same data directory gets a clear message and exit 1", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-cli-lock-"));
    // This test process holds the directory, as a running app would.
    const release = lockDataDir(path.join(dataDir, "pglite"));
    try {
      const blocked = await cli.run("keys", ["list"], { env: { KEYWARD_DATA_DIR: dataDir, DATABASE_URL: undefined } });
      expect(blocked).toMatchObject({ code: 1, stdout: "" });
      expect(blocked.stderr).toContain(`is already open in process ${process.pid}`);
      expect(blocked.stderr).toContain("set DATABASE_URL to use PostgreSQL");
      expect(blocked.stderr).not.toMatch(STACK_FRAME);
    } finally {
      release();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
