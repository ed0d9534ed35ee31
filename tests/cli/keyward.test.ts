import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyView } from "../../app/services/keys.server";
import { systemActor } from "../../app/services/actor.server";
import { cliEnvironment, type CliEnvironment } from "./run-cli";

const STACK_FRAME = /\n\s+at /;
const KEY = /^kw_[0-9A-Za-z]{61}$/;

// `keyward` in local mode, through the package's bin entry (node bin/keyward.js). Each process
// costs a second or more, so the lifecycle shares one database and the cheap checks run side by side.
describe("keyward (local mode)", { timeout: 180_000 }, () => {
  let cli: CliEnvironment;
  beforeAll(async () => {
    cli = await cliEnvironment();
  });
  afterAll(() => cli?.dispose());

  it("documents itself: --help at every level (exit 0), usage errors exit 2, refusals exit 1", async () => {
    const [help, groupHelp, commandHelp, noGroup, unknownGroup, badFlag, badId, remoteDb, halfRemote] = await Promise.all([
      cli.keyward(["--help"]),
      cli.keyward(["users", "--help"]),
      cli.keyward(["keys", "rotate", "--help"]),
      cli.keyward([]),
      cli.keyward(["frobnicate"]),
      cli.keyward(["keys", "list", "--colour"]),
      cli.keyward(["keys", "show", "not-a-key"]),
      cli.keyward(["db", "migrate"], { env: { KEYWARD_URL: "http://127.0.0.1:9", KEYWARD_API_KEY: "kw_x" } }),
      cli.keyward(["keys", "list"], { env: { KEYWARD_URL: "http://127.0.0.1:9" } }),
    ]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    for (const text of ["keys", "users", "audit", "db", "serve", "KEYWARD_URL", "KEYWARD_API_KEY", "Exit codes:", "--json"]) expect(help.stdout).toContain(text);
    expect(help.stdout).toMatch(/^\s+2\s+usage error/m);
    expect(groupHelp.code).toBe(0);
    expect(groupHelp.stdout).toMatch(/Usage: keyward users <command>/);
    for (const command of ["create", "list", "set-role", "disable", "enable", "reset-password"]) expect(groupHelp.stdout).toMatch(new RegExp(`^  ${command}\\s`, "m"));
    expect(commandHelp.code).toBe(0);
    expect(commandHelp.stdout).toContain("Usage: keyward keys rotate KEY_ID [--grace-seconds N] [--json]");
    expect(commandHelp.stdout).not.toContain("npm run");

    expect(noGroup.code).toBe(2);
    expect(unknownGroup).toMatchObject({ code: 2, stdout: "" });
    expect(unknownGroup.stderr).toContain('unknown group "frobnicate"');
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("--colour");
    expect(badFlag.stderr).toContain('Run "keyward keys list --help" for usage.');
    expect(badId.code).toBe(2);
    expect(remoteDb.code).toBe(2);
    expect(remoteDb.stderr).toContain("has no remote mode");
    expect(halfRemote.code).toBe(2);
    expect(halfRemote.stderr).toContain("KEYWARD_API_KEY");
    for (const result of [noGroup, unknownGroup, badFlag, badId, remoteDb, halfRemote]) expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it("runs a key's whole lifecycle with --json: create → id+key, rotate → new id+key, reveal, disable, enable, revoke", async () => {
    const owner = await cli.keyward(["users", "create", "--email", "ops@example.test", "--password", "a long admin password", "--role", "admin", "--json"]);
    expect(owner.code, owner.stderr).toBe(0);
    expect(JSON.parse(owner.stdout)).toMatchObject({ id: expect.stringMatching(/^usr_/), email: "ops@example.test", role: "admin" });

    const created = await cli.keyward(["keys", "create", "--owner", "ops@example.test", "--name", "Deploy", "--scopes", "read,write", "--recoverable", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const first = JSON.parse(created.stdout) as { id: string; key: string; apiKey: ApiKeyView };
    expect(first.key).toMatch(KEY);
    expect(first.apiKey).toMatchObject({ id: first.id, name: "Deploy", status: "active", recoverable: true, last4: first.key.slice(-4) });

    const rotated = await cli.keyward(["keys", "rotate", first.id, "--grace-seconds", "60", "--json"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const second = JSON.parse(rotated.stdout) as { id: string; key: string; apiKey: ApiKeyView; previous: ApiKeyView };
    expect(second.key).toMatch(KEY);
    expect(second.id).not.toBe(first.id);
    expect(second.apiKey).toMatchObject({ id: second.id, rotatedFrom: first.id, recoverable: true });
    expect(second.previous.id).toBe(first.id);

    const revealed = await cli.keyward(["keys", "reveal", second.id]);
    expect(revealed).toMatchObject({ code: 0, stdout: `${second.key}\n` });

    const disabled = await cli.keyward(["keys", "disable", second.id, "--json"]);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(JSON.parse(disabled.stdout)).toMatchObject({ id: second.id, status: "disabled" });
    const enabled = await cli.keyward(["keys", "enable", second.id]);
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(enabled.stdout).toContain("its status is now active");
    const revoked = await cli.keyward(["keys", "revoke", second.id, "--json"]);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: second.id, status: "revoked" });

    // Both open the embedded database, which admits one process at a time: one after the other.
    const missing = await cli.keyward(["keys", "show", "key_00000000000000000000"]);
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr).toContain("not found");

    const keyward = await cli.open();
    try {
      await expect(keyward.keys.authenticate(second.key)).resolves.toMatchObject({ code: "REVOKED" });
      const trail = await keyward.audit.forKey(systemActor("test"), { keyId: second.id });
      expect(trail.data.map((entry) => entry.action).sort()).toEqual(["key.disabled", "key.enabled", "key.revealed", "key.revoked"]);
    } finally {
      await keyward.close();
    }
  });
});
