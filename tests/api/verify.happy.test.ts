import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CreateIssuedKeyInput } from "../../app/lib/key-schemas";
import { generateKey } from "../../app/lib/key-format";
import { sessionActor } from "../../app/services/actor.server";
import { ManualClock } from "../../app/services/clock.server";
import { system } from "../support/keyward";
import { call, setup, type Fixture } from "./support";

type Verdict = { valid: boolean; code: string } & Record<string, unknown>;

describe("POST /api/v1/verify", () => {
  const clock = new ManualClock(new Date("2026-11-25T12:00:00Z"));
  let f: Fixture;
  let apiId: string;
  beforeAll(async () => {
    f = await setup({ clock });
    const api = await f.app.keyward.apis.create(sessionActor({ id: f.member.id, role: "member" }), {
      name: "Orders",
      prefix: "orders",
      permissions: ["orders.read", "orders.write", "orders.admin"],
      implications: { "orders.admin": ["orders.write"], "orders.write": ["orders.read"] },
    });
    apiId = api.id;
  });
  afterAll(() => f.close());

  /** A key of the member's API, issued through the service (not the API under test). */
  const issue = (input: CreateIssuedKeyInput = {}) => f.app.keyward.keys.createIssued(system, apiId, input);
  const verify = (body: unknown, key = f.memberReadKey) => call<Verdict>(f.app, "/api/v1/verify", { key, method: "POST", body });

  it("VALID: the key's id, API, name, identity, permissions, metadata and expiry", async () => {
    const { key, apiKey } = await issue({ name: "partner", externalId: "cust_7", permissions: ["orders.read"], meta: { plan: "pro" }, expiresInDays: 10 });
    const identity = await f.app.keyward.identities.get(system, apiKey.identityId!);
    const response = await verify({ key, apiId });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      valid: true,
      code: "VALID",
      keyId: apiKey.id,
      apiId,
      name: "partner",
      identity: { id: identity.id, externalId: "cust_7", meta: {} },
      permissions: ["orders.read"],
      meta: { plan: "pro" },
      expiresAt: apiKey.expiresAt,
      credits: null,
      ratelimits: [],
    });
    // A key without an identity says so.
    expect((await verify({ key: (await issue()).key })).body).toMatchObject({ valid: true, identity: null });
  });

  it("charges `cost` credits: 0 checks without charging, more than remain is USAGE_EXCEEDED and takes nothing", async () => {
    const { key, apiKey } = await issue({ credits: { remaining: 5 } });
    expect((await verify({ key, apiId, cost: 0 })).body).toMatchObject({ valid: true, code: "VALID", credits: { remaining: 5 } });
    expect((await verify({ key, apiId, cost: 3 })).body).toMatchObject({ valid: true, code: "VALID", credits: { remaining: 2 } });
    expect((await verify({ key, apiId, cost: 3 })).body).toMatchObject({ valid: false, code: "USAGE_EXCEEDED", credits: { remaining: 2 } });
    expect((await verify({ key, apiId })).body).toMatchObject({ valid: true, credits: { remaining: 1 } });
    expect((await f.app.keyward.keys.get(system, apiKey.id)).credits).toMatchObject({ remaining: 1 });
  });

  it("INVALID says nothing more, whether malformed, mis-checksummed, unknown or a root key", async () => {
    const valid = generateKey("orders");
    const badChecksum = valid.slice(0, -1) + (valid.endsWith("A") ? "B" : "A");
    for (const key of ["", "nope", "orders_short", badChecksum, generateKey("orders"), generateKey(), f.memberKey]) {
      const response = await verify({ key });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ valid: false, code: "INVALID" });
    }
  });

  it("REVOKED, DISABLED and EXPIRED are told apart", async () => {
    const revoked = await issue();
    const disabled = await issue();
    const expired = await issue({ expiresInDays: 1 });
    await f.app.keyward.keys.revoke(system, revoked.apiKey.id);
    await f.app.keyward.keys.disable(system, disabled.apiKey.id);
    expect((await verify({ key: expired.key })).body.code).toBe("VALID");
    clock.advance(2 * 86_400_000);
    expect((await verify({ key: revoked.key })).body).toMatchObject({ valid: false, code: "REVOKED", keyId: revoked.apiKey.id });
    expect((await verify({ key: disabled.key })).body).toMatchObject({ valid: false, code: "DISABLED", keyId: disabled.apiKey.id });
    expect((await verify({ key: expired.key })).body).toMatchObject({ valid: false, code: "EXPIRED", keyId: expired.apiKey.id });
  });

  it("IP_NOT_ALLOWED against the given address; a key with an allowlist fails closed without one", async () => {
    const { key } = await issue({ allowedIps: ["203.0.113.0/24", "2001:db8::/32"] });
    expect((await verify({ key, ip: "203.0.113.9" })).body.code).toBe("VALID");
    expect((await verify({ key, ip: "2001:db8::5" })).body.code).toBe("VALID");
    expect((await verify({ key, ip: "198.51.100.1" })).body).toMatchObject({ valid: false, code: "IP_NOT_ALLOWED" });
    expect((await verify({ key })).body.code).toBe("IP_NOT_ALLOWED");
    const { key: open } = await issue();
    expect((await verify({ key: open })).body.code).toBe("VALID");
  });

  it("INSUFFICIENT_PERMISSIONS names what is missing; the API's implications count", async () => {
    const { key: reader } = await issue({ permissions: ["orders.read"] });
    const { key: admin } = await issue({ permissions: ["orders.admin"] });
    expect((await verify({ key: reader, permissions: ["orders.read"] })).body.code).toBe("VALID");
    expect((await verify({ key: reader, permissions: ["orders.read", "orders.write"] })).body).toMatchObject({ valid: false, code: "INSUFFICIENT_PERMISSIONS", missing: ["orders.write"] });
    expect((await verify({ key: admin, permissions: ["orders.write", "orders.read"] })).body.code).toBe("VALID");
  });

  it("applies the key's named limits, reports them in every verdict and names the one that refused", async () => {
    const { key } = await issue({ ratelimits: [{ name: "minute", limit: 2, durationSeconds: 60 }, { name: "day", limit: 100, durationSeconds: 86_400 }] });
    const first = await verify({ key, apiId });
    expect(first.body).toMatchObject({ valid: true, ratelimits: [{ name: "minute", limit: 2, remaining: 1 }, { name: "day", limit: 100, remaining: 99 }] });
    expect(Date.parse((first.body.ratelimits as { resetAt: string }[])[0]!.resetAt)).toBeGreaterThan(Date.now());
    // Only "day", at a cost of 5: "minute" keeps its one request left.
    expect((await verify({ key, apiId, ratelimits: [{ name: "day", cost: 5 }] })).body).toMatchObject({ valid: true, ratelimits: [{ name: "day", remaining: 94 }] });
    await verify({ key, apiId });
    expect((await verify({ key, apiId })).body).toMatchObject({ valid: false, code: "RATE_LIMITED", ratelimit: "minute", ratelimits: [{ name: "minute", remaining: 0 }, { name: "day", remaining: 92 }] });
    const misnamed = await verify({ key, apiId, ratelimits: [{ name: "Minute" }] });
    expect(misnamed).toMatchObject({ status: 422, body: { code: "validation_failed" } });
  });

  it("WRONG_API for a key of another API", async () => {
    const { key } = await issue();
    const other = await f.app.keyward.apis.create(sessionActor({ id: f.member.id, role: "member" }), { name: "Billing", prefix: "billing" });
    expect((await verify({ key, apiId: other.id })).body).toMatchObject({ valid: false, code: "WRONG_API", apiId });
  });

  it("the same verdicts through tRPC (one business-logic path)", async () => {
    const { key } = await issue({ permissions: ["orders.read"] });
    const body = { key, apiId, permissions: ["orders.write"] };
    const response = await fetch(`${f.app.url}/api/trpc/verify`, {
      method: "POST",
      headers: { Authorization: `Bearer ${f.memberReadKey}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    const rest = await verify(body);
    expect(rest.body.code).toBe("INSUFFICIENT_PERMISSIONS");
    expect(((await response.json()) as { result: { data: unknown } }).result.data).toEqual(rest.body);
  });
});
