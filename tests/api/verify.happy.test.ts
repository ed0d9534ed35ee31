import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../app/services/clock.server";
import { generateKey } from "../../app/lib/key-format";
import { system } from "../support/keyward";
import { call, setup, type Fixture } from "./support";

type Verdict = { valid: boolean; code: string } & Record<string, unknown>;

describe("POST /api/v1/verify", () => {
  const clock = new ManualClock(new Date("2026-11-25T12:00:00Z"));
  let f: Fixture;
  beforeAll(async () => {
    f = await setup({ clock });
  });
  afterAll(() => f.close());

  const verify = (body: unknown, key = f.memberReadKey) => call<Verdict>(f.app, "/api/v1/verify", { key, method: "POST", body });

  it("VALID: the key's id, owner, name, effective scopes, expiry and metadata", async () => {
    const { key, apiKey } = await f.createKey(f.other.id, { name: "partner", scopes: ["write"], metadata: { plan: "pro" }, expiresInDays: 10 });
    const response = await verify({ key });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      valid: true,
      code: "VALID",
      keyId: apiKey.id,
      ownerId: f.other.id,
      name: "partner",
      scopes: ["read", "write"],
      expiresAt: apiKey.expiresAt,
      meta: { plan: "pro" },
    });
  });

  it("INVALID says nothing more, whether malformed, mis-checksummed or unknown", async () => {
    const valid = generateKey();
    const badChecksum = valid.slice(0, -1) + (valid.endsWith("A") ? "B" : "A");
    for (const key of ["", "nope", "kw_short", badChecksum, generateKey()]) {
      const response = await verify({ key });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ valid: false, code: "INVALID" });
    }
  });

  it("REVOKED, DISABLED and EXPIRED are told apart", async () => {
    const revoked = await f.createKey(f.other.id);
    const disabled = await f.createKey(f.other.id);
    const expired = await f.createKey(f.other.id, { expiresInDays: 1 });
    await f.app.keyward.keys.revoke(system, revoked.apiKey.id);
    await f.app.keyward.keys.disable(system, disabled.apiKey.id);
    expect((await verify({ key: expired.key })).body.code).toBe("VALID");
    clock.advance(2 * 86_400_000);
    expect((await verify({ key: revoked.key })).body).toMatchObject({ valid: false, code: "REVOKED", keyId: revoked.apiKey.id });
    expect((await verify({ key: disabled.key })).body).toMatchObject({ valid: false, code: "DISABLED", keyId: disabled.apiKey.id });
    expect((await verify({ key: expired.key })).body).toMatchObject({ valid: false, code: "EXPIRED", keyId: expired.apiKey.id });
  });

  it("IP_NOT_ALLOWED against the given address; a key with an allowlist fails closed without one", async () => {
    const { key } = await f.createKey(f.other.id, { allowedIps: ["203.0.113.0/24", "2001:db8::/32"] });
    expect((await verify({ key, ip: "203.0.113.9" })).body.code).toBe("VALID");
    expect((await verify({ key, ip: "2001:db8::5" })).body.code).toBe("VALID");
    expect((await verify({ key, ip: "198.51.100.1" })).body).toMatchObject({ valid: false, code: "IP_NOT_ALLOWED" });
    expect((await verify({ key })).body.code).toBe("IP_NOT_ALLOWED");
    const { key: open } = await f.createKey(f.other.id);
    expect((await verify({ key: open })).body.code).toBe("VALID");
  });

  it("INSUFFICIENT_SCOPE, with hierarchical scopes", async () => {
    const { key: readKey } = await f.createKey(f.other.id, { scopes: ["read"] });
    const { key: adminKey } = await f.createKey(f.admin.id, { scopes: ["admin"] });
    expect((await verify({ key: readKey, scope: "read" })).body.code).toBe("VALID");
    expect((await verify({ key: readKey, scope: "write" })).body).toMatchObject({ valid: false, code: "INSUFFICIENT_SCOPE" });
    expect((await verify({ key: adminKey, scope: "write" })).body.code).toBe("VALID");
  });

  it("the same verdicts through tRPC (one business-logic path)", async () => {
    const { key } = await f.createKey(f.other.id, { scopes: ["read"] });
    const response = await fetch(`${f.app.url}/api/trpc/verify`, {
      method: "POST",
      headers: { Authorization: `Bearer ${f.memberReadKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ key, scope: "write" }),
    });
    expect(response.status).toBe(200);
    const rest = await verify({ key, scope: "write" });
    expect(((await response.json()) as { result: { data: unknown } }).result.data).toEqual(rest.body);
  });
});
