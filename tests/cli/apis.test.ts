import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionActor, systemActor } from "../../app/services/actor.server";
import type { ApiView } from "../../app/services/apis.server";
import type { IdentityView } from "../../app/services/identities.server";
import { cliEnvironment, issuedKeyLine, type CliEnvironment } from "./run-cli";

const STACK_FRAME = /\n\s+at /;
const ADMIN = "first-admin@example.test";
const MEMBER = "api-owner@example.test";
const system = systemActor("test");

// Each CLI process starts tsx and opens the database (~1–3 s), so the steps share one database.
describe("npm run apis, keys create --api, identities", { timeout: 180_000 }, () => {
  let cli: CliEnvironment;
  let apiId: string;
  let issued: { key: string; id: string };

  beforeAll(async () => {
    cli = await cliEnvironment();
    for (const [email, role] of [[ADMIN, "admin"], [MEMBER, "member"]]) {
      const user = await cli.run("users", ["create", "--email", email!, "--password", "a long enough password", "--role", role!]);
      expect(user.code, user.stderr).toBe(0);
    }
  }, 180_000);
  afterAll(() => cli?.dispose());

  it("apis create prints the id alone; the owner is --owner, or else the first admin", async () => {
    const created = await cli.run("apis", ["create", "--name", "Acme", "--prefix", "acme_live", "--permissions", "orders.read, orders.write,billing.read", "--owner", MEMBER]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^api_[0-9A-Za-z]{20}\n$/);
    apiId = created.stdout.trim();
    expect(created.stderr).toContain(`owned by ${MEMBER}`);
    expect(created.stderr).toContain("keys look like acme_live_…");

    const byDefault = await cli.run("apis", ["create", "--name", "Acme test", "--prefix", "acme_test"]);
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(byDefault.stderr).toContain(`owned by ${ADMIN}`);

    const listed = await cli.run("apis", ["list", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const apis = JSON.parse(listed.stdout) as ApiView[];
    expect(apis.map((api) => [api.prefix, api.permissions, api.implications])).toEqual([
      ["acme_test", ["read", "write", "admin"], { admin: ["write"], write: ["read"] }],
      ["acme_live", ["orders.read", "orders.write", "billing.read"], {}],
    ]);
  });

  it("keys create --api issues a key of the API's prefix to a new identity; it verifies with its permissions", async () => {
    const created = await cli.run("keys", ["create", "--api", "acme_live", "--external-id", "cust_42", "--permissions", "orders.read,orders.write", "--expires-in-days", "7"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(issuedKeyLine("acme_live"));
    const key = created.stdout.trim();
    expect(created.stderr).not.toContain(key);
    expect(created.stderr).toContain(`of API acme_live (${apiId}) for cust_42`);
    expect(created.stderr).toContain("permissions orders.read, orders.write");
    issued = { key, id: /\b(key_[0-9A-Za-z]{20})\b/.exec(created.stderr)![1]! };

    const table = await cli.run("keys", ["list", "--api", apiId, "--external-id", "cust_42"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^${issued.id}\\s+cust_42\\s+${MEMBER}\\s+active\\s+acme_live\\s+orders.read,orders.write\\s`, "m"));
    expect(table.stdout).not.toContain(key);

    const keyward = await cli.open();
    try {
      const member = (await keyward.users.findByEmail(MEMBER))!;
      const caller = sessionActor(member);
      await expect(keyward.verifier.verify(key, { caller, apiId, permissions: ["orders.write"] })).resolves.toMatchObject({ valid: true, code: "VALID", keyId: issued.id, identity: { externalId: "cust_42" } });
      await expect(keyward.verifier.verify(key, { caller, apiId, permissions: ["billing.read"] })).resolves.toMatchObject({ valid: false, code: "INSUFFICIENT_PERMISSIONS", missing: ["billing.read"] });
    } finally {
      await keyward.close();
    }
  });

  it("identities list, show and revoke-keys: one audited action with the count", async () => {
    const second = await cli.run("keys", ["create", "--api", apiId, "--external-id", "cust_42", "--name", "Second"]);
    expect(second.code, second.stderr).toBe(0);

    const listed = await cli.run("identities", ["list", "--api", "acme_live", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const [identity, ...others] = JSON.parse(listed.stdout) as IdentityView[];
    expect(others).toEqual([]);
    expect(identity).toMatchObject({ apiId, externalId: "cust_42", keyCount: { total: 2, live: 2 } });

    const shown = await cli.run("identities", ["show", identity!.id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`Identity ${identity!.id} "cust_42" of API acme_live`);
    expect(shown.stdout).toMatch(new RegExp(`^${issued.id}\\s+cust_42\\s+active\\s+orders.read,orders.write\\s`, "m"));
    expect(shown.stdout).toMatch(/^key_\w+\s+Second\s+active\s/m);

    const revoked = await cli.run("identities", ["revoke-keys", identity!.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`Revoked 2 keys of ${identity!.id} (cust_42)`);
    const again = await cli.run("identities", ["revoke-keys", identity!.id]);
    expect(again.stdout).toContain("had no key left to revoke; nothing changed");

    const keyward = await cli.open();
    try {
      await expect(keyward.keys.get(system, issued.id)).resolves.toMatchObject({ status: "revoked" });
      const trail = await keyward.audit.list(system, { action: "identity.keys_revoked" });
      expect(trail.data.map((entry) => [entry.actorType, entry.details.via, entry.details.count])).toEqual([
        ["system", "cli", 0],
        ["system", "cli", 2],
      ]);
    } finally {
      await keyward.close();
    }
  });

  it("apis update renames and changes the vocabulary, by id or prefix", async () => {
    const updated = await cli.run("apis", ["update", "acme_live", "--name", "Acme live", "--permissions", "orders.read,orders.write"]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toBe(`Updated ${apiId}.\n`);
    const listed = JSON.parse((await cli.run("apis", ["list", "--json"])).stdout) as ApiView[];
    expect(listed.find((api) => api.id === apiId)).toMatchObject({ name: "Acme live", permissions: ["orders.read", "orders.write"], keyCount: { total: 2, live: 0 } });
  });

  it("reports errors clearly: exit 1 when Keyward refuses, exit 2 for a bad command line, never a stack trace", async () => {
    const [takenPrefix, unknownApi, unknownPermission] = [
      await cli.run("apis", ["create", "--name", "Again", "--prefix", "acme_live"]),
      await cli.run("apis", ["update", "nope", "--name", "x"]),
      await cli.run("keys", ["create", "--api", "acme_live", "--permissions", "billing.write"]),
    ];
    const [badPrefix, nothingToChange, rootFlagsOnIssued, issuedFlagsOnRoot, badIdentity, help] = await Promise.all([
      cli.run("apis", ["create", "--name", "Bad", "--prefix", "kw"]),
      cli.run("apis", ["update", "acme_live"]),
      cli.run("keys", ["create", "--api", "acme_live", "--scopes", "read"]),
      cli.run("keys", ["create", "--owner", MEMBER, "--name", "x", "--scopes", "read", "--external-id", "c"]),
      cli.run("identities", ["show", "idt_nope"]),
      cli.run("apis", ["create", "--help"]),
    ]);
    expect(takenPrefix).toMatchObject({ code: 1, stdout: "" });
    expect(takenPrefix.stderr).toContain('The prefix "acme_live" is already taken by another API (conflict)');
    expect(unknownApi).toMatchObject({ code: 1, stdout: "" });
    expect(unknownApi.stderr).toContain("API nope not found");
    expect(unknownPermission).toMatchObject({ code: 1, stdout: "" });
    expect(unknownPermission.stderr).toContain("billing.write");
    expect(badPrefix).toMatchObject({ code: 2, stdout: "" });
    expect(badPrefix.stderr).toContain("--prefix:");
    expect(nothingToChange).toMatchObject({ code: 2, stdout: "" });
    expect(nothingToChange.stderr).toContain("nothing to change");
    expect(rootFlagsOnIssued).toMatchObject({ code: 2, stdout: "" });
    expect(rootFlagsOnIssued.stderr).toContain("--scopes is for root keys");
    expect(issuedFlagsOnRoot).toMatchObject({ code: 2, stdout: "" });
    expect(issuedFlagsOnRoot.stderr).toContain("--external-id is for keys issued for an API");
    expect(badIdentity).toMatchObject({ code: 2, stdout: "" });
    expect(badIdentity.stderr).toContain("IDENTITY_ID: Not an identity id");
    for (const result of [takenPrefix, unknownApi, unknownPermission, badPrefix, nothingToChange, rootFlagsOnIssued, issuedFlagsOnRoot, badIdentity]) {
      expect(result.stderr).not.toMatch(STACK_FRAME);
    }
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--owner EMAIL        The user who owns the API (email or usr_… id; default: the first admin)");
  });
});
