import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyView } from "../../app/services/keys.server";
import { openDatabase } from "../../db/client.server";
import { createUser, system } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";
import { runKeyward, type CliResult } from "./run-cli";

const KEY = /^kw_[0-9A-Za-z]{61}$/;

// `keyward` in remote mode against a running embedded app (PGlite, unless DATABASE_URL is set):
// the CLI talks to the REST API and never opens a database. Its processes get a data directory of
// their own that holds no database, plus (in the proof test) the app's own directory: a CLI that
// opened it would fail on the lock the app holds. Remote commands share no lock, so they run side by side.
describe("keyward (remote mode)", { timeout: 240_000 }, () => {
  let app: RunningApp;
  let adminKey: string;
  let member: { id: string; email: string };
  const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-remote-"));

  const remote = (args: string[], env: Record<string, string | undefined> = {}, input?: string): Promise<CliResult> =>
    runKeyward(args, { KEYWARD_DATA_DIR: emptyDir, KEYWARD_URL: app.url, KEYWARD_API_KEY: adminKey, ...env }, input);
  const json = <T>(result: CliResult): T => {
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as T;
  };

  beforeAll(async () => {
    app = await startApp();
    const admin = await createUser(app.keyward, "admin", "ops@example.test");
    member = await createUser(app.keyward, "member", "dev@example.test");
    adminKey = (await app.keyward.keys.create(system, { name: "cli", scopes: ["admin"], ownerId: admin.id })).key;
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    fs.rmSync(emptyDir, { recursive: true, force: true });
  });

  it("manages keys through the REST API: create, list, show, update, rotate, revoke", async () => {
    const created = json<{ id: string; key: string; apiKey: ApiKeyView }>(
      await remote(["keys", "create", "--owner", member.email, "--name", "Remote bot", "--scopes", "read,write", "--json"]),
    );
    expect(created.key).toMatch(KEY);
    expect(created.apiKey).toMatchObject({ id: created.id, ownerId: member.id, name: "Remote bot" });
    await expect(app.keyward.keys.authenticate(created.key)).resolves.toMatchObject({ code: "VALID" });

    const [list, shown, updated] = await Promise.all([
      remote(["keys", "list", "--owner", member.email, "--json"]),
      remote(["keys", "show", created.id]),
      remote(["keys", "update", created.id, "--name", "Renamed bot", "--json"]),
    ]);
    expect(json<ApiKeyView[]>(list).map((key) => key.id)).toEqual([created.id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`Key ${created.id}`);
    expect(shown.stdout).not.toContain(created.key);
    expect(json<ApiKeyView>(updated).name).toBe("Renamed bot");

    const rotated = json<{ id: string; key: string; previous: ApiKeyView }>(await remote(["keys", "rotate", created.id, "--json"]));
    expect(rotated.key).toMatch(KEY);
    expect(rotated.id).not.toBe(created.id);
    expect(rotated.previous.id).toBe(created.id);
    const revoked = json<ApiKeyView>(await remote(["keys", "revoke", rotated.id, "--json"]));
    expect(revoked.status).toBe("revoked");
    await expect(app.keyward.keys.authenticate(rotated.key)).resolves.toMatchObject({ code: "REVOKED" });

    // Audited as the admin acting through the CLI's key, like any REST client.
    const trail = await app.keyward.audit.list(system, { targetId: created.id, limit: 10 });
    expect(new Set(trail.data.map((entry) => entry.actorType))).toEqual(new Set(["api_key"]));
  });

  it("manages users: create, set-role, disable, enable, reset-password; and tails the audit trail", async () => {
    const user = json<{ id: string; email: string; role: string }>(
      await remote(["users", "create", "--email", "new@example.test", "--password-stdin", "--json"], {}, "a long first password\n"),
    );
    expect(user).toMatchObject({ email: "new@example.test", role: "member" });
    expect(json<{ role: string }>(await remote(["users", "set-role", "new@example.test", "admin", "--json"])).role).toBe("admin");
    expect(json<{ disabledAt: string | null }>(await remote(["users", "disable", user.id, "--json"])).disabledAt).not.toBeNull();
    const enabled = await remote(["users", "enable", "new@example.test"]);
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(enabled.stdout).toContain("Enabled admin new@example.test");
    const reset = await remote(["users", "reset-password", "new@example.test"]);
    expect(reset.code, reset.stderr).toBe(0);
    const password = reset.stdout.trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    await expect(app.keyward.auth.login("new@example.test", password)).resolves.toMatchObject({ user: { id: user.id, role: "admin" } });

    const [tail, users] = await Promise.all([remote(["audit", "tail", "--action", "user.*", "--limit", "10", "--json"]), remote(["users", "list"])]);
    const actions = json<{ action: string; targetId: string }[]>(tail).filter((entry) => entry.targetId === user.id).map((entry) => entry.action);
    // Oldest first, like tail(1).
    expect(actions).toEqual(["user.created", "user.role_changed", "user.disabled", "user.enabled", "user.password_reset"]);
    expect(users.stdout).toMatch(/new@example\.test\s+admin\s+active/);
  });

  it("manages APIs and identities through the REST API: create (for the calling key's owner), list, update, show, revoke-keys", async () => {
    const created = await remote(["apis", "create", "--name", "Remote API", "--prefix", "remo", "--permissions", "orders.read,orders.write"]);
    expect(created.code, created.stderr).toBe(0);
    const apiId = created.stdout.trim();
    expect(apiId).toMatch(/^api_[0-9A-Za-z]{20}$/);
    expect(created.stderr).toContain("ops@example.test");
    const updated = await remote(["apis", "update", "remo", "--name", "Remote API (renamed)"]);
    expect(updated.code, updated.stderr).toBe(0);
    const listed = json<{ id: string; name: string; prefix: string }[]>(await remote(["apis", "list", "--json"]));
    expect(listed).toContainEqual(expect.objectContaining({ id: apiId, name: "Remote API (renamed)", prefix: "remo" }));
    expect((await app.keyward.apis.get(system, apiId)).name).toBe("Remote API (renamed)");
    const withOwner = await remote(["apis", "create", "--name", "x", "--prefix", "remx", "--owner", member.email]);
    expect(withOwner.code).toBe(2);

    const identity = json<{ id: string; externalId: string }>(await remote(["identities", "create", "--api", "remo", "--external-id", "acme", "--ratelimit", "requests=100/60", "--json"]));
    expect(identity.externalId).toBe("acme");
    await app.keyward.keys.createIssued(system, apiId, { name: "acme key", identityId: identity.id });
    const renamed = json<{ externalId: string }>(await remote(["identities", "update", identity.id, "--external-id", "acme-corp", "--json"]));
    expect(renamed.externalId).toBe("acme-corp");
    expect(json<{ id: string }[]>(await remote(["identities", "list", "--api", "remo", "--json"])).map((i) => i.id)).toEqual([identity.id]);
    const shown = json<{ identity: { id: string }; keys: { name: string }[] }>(await remote(["identities", "show", identity.id, "--json"]));
    expect(shown.keys.map((key) => key.name)).toEqual(["acme key"]);
    const revoked = await remote(["identities", "revoke-keys", identity.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^Revoked 1 key of /);
  });

  it("prints the server's refusals with their code (exit 1), and refuses local-only commands (exit 2)", async () => {
    const { key: memberKey } = await app.keyward.keys.create(system, { name: "member", scopes: ["read", "write"], ownerId: member.id });
    const [notFound, forbidden, badKey, unreachable, seed] = await Promise.all([
      remote(["keys", "show", "key_00000000000000000000"]),
      remote(["users", "list"], { KEYWARD_API_KEY: memberKey }),
      remote(["keys", "list"], { KEYWARD_API_KEY: "kw_not_a_key" }),
      remote(["keys", "list"], { KEYWARD_URL: "http://127.0.0.1:9" }),
      remote(["db", "seed"]),
    ]);
    expect(notFound).toMatchObject({ code: 1, stdout: "" });
    expect(notFound.stderr).toMatch(/not found \(not_found\)/);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain("(insufficient_scope)");
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain("(invalid_key)");
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain("cannot reach Keyward at http://127.0.0.1:9");
    expect(seed.code).toBe(2);
    expect(seed.stderr).toContain("no remote mode");
  });

  // PGlite only: Postgres admits any number of processes, so there is no lock to prove anything with.
  it.skipIf(Boolean(process.env.DATABASE_URL))("never opens a database: it works while an app holds the embedded database's directory", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-held-"));
    const database = await openDatabase({ kind: "pglite", dataDir: path.join(dir, "pglite") });
    const held = await startApp({ database });
    try {
      const owner = await createUser(held.keyward, "admin", "held@example.test");
      const { key } = await held.keyward.keys.create(system, { name: "cli", scopes: ["admin"], ownerId: owner.id });
      const env = { KEYWARD_DATA_DIR: dir, KEYWARD_URL: held.url, KEYWARD_API_KEY: key };
      const [remoteRun, localRun] = await Promise.all([
        runKeyward(["keys", "create", "--name", "made while the app runs", "--scopes", "read", "--json"], env),
        // The same command line without remote mode opens the directory, and the app's lock stops it.
        runKeyward(["keys", "list"], { KEYWARD_DATA_DIR: dir }),
      ]);
      const created = json<{ id: string; key: string }>(remoteRun);
      expect(created.key).toMatch(KEY);
      expect(localRun.code).toBe(1);
      expect(localRun.stderr).toContain("is already open in process");
      // The app kept serving and holds what the CLI created.
      expect((await fetch(`${held.url}/api/health`)).status).toBe(200);
      await expect(held.keyward.keys.authenticate(created.key)).resolves.toMatchObject({ code: "VALID", key: { id: created.id, ownerId: owner.id } });
    } finally {
      await held.close();
      await database.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
