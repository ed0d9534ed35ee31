import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from "vitest";
import { generateKey } from "../../app/lib/key-format";
import { system } from "../support/keyward";
import { call, expectProblem, setup, type ApiResponse, type Fixture } from "./support";

/**
 * The failed-auth throttle guards lookups of unknown keys, per client address bucket; it never
 * locks a key that verifies out, whatever its address did. KEYWARD_TRUST_PROXY=1 makes each test's
 * X-Forwarded-For the client address; three failed lookups a minute trip an address.
 */
describe("the failed-auth throttle and the negative cache", () => {
  let f: Fixture;
  /** Every database lookup of a presented key. */
  let lookups: MockInstance;
  let counter = 0;
  const freshAddress = () => `203.0.113.${++counter}`;

  beforeAll(async () => {
    f = await setup({ env: { KEYWARD_TRUST_PROXY: "1", KEYWARD_FAILED_AUTH_LIMIT: "3/60" } });
    lookups = vi.spyOn(f.app.keyward.keys, "authenticate");
  });
  afterAll(() => f.close());

  const from = (ip: string) => ({ "X-Forwarded-For": ip });
  const rest = (key: string, ip: string) => call(f.app, "/api/v1/me", { key, headers: from(ip) });
  const trpc = (key: string, ip: string) => call(f.app, "/api/trpc/me", { key, headers: from(ip) });
  const trpcCode = (response: ApiResponse) => (response.body as { error?: { data: { keywardCode: string } } }).error?.data.keywardCode;

  async function tripThrottle(ip: string): Promise<void> {
    for (let i = 0; i < 3; i++) expectProblem(await rest(generateKey(), ip), 401, "invalid_key");
  }

  it("still admits a valid key from an address that tripped it, cold or cached, and answers new unknown keys 429 (REST and tRPC)", async () => {
    const ip = freshAddress();
    await tripThrottle(ip);
    // Never used yet, so in no cache: the lookup is still made, and the key admitted.
    const { key } = await f.createKey(f.member.id);
    expect((await rest(key, ip)).status).toBe(200);
    expect((await rest(key, ip)).status).toBe(200);
    expect((await trpc(f.memberReadKey, ip)).status).toBe(200);
    expect((await trpc(key, ip)).status).toBe(200);

    const refused = await rest(generateKey(), ip);
    expectProblem(refused, 429, "too_many_failures");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const refusedOnTrpc = await trpc(generateKey(), ip);
    expect(refusedOnTrpc.status).toBe(429);
    expect(trpcCode(refusedOnTrpc)).toBe("too_many_failures");
    expect(Number(refusedOnTrpc.headers.get("retry-after"))).toBeGreaterThan(0);

    // Another address is not affected.
    expectProblem(await rest(generateKey(), freshAddress()), 401, "invalid_key");
  });

  it("lets no amount of revoked-key spam from an address lock out a valid admin key", async () => {
    const ip = freshAddress();
    const revoked: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { key, apiKey } = await f.createKey(f.member.id);
      await f.app.keyward.keys.revoke(system, apiKey.id);
      revoked.push(key);
    }
    for (let i = 0; i < 25; i++) expectProblem(await rest(revoked[i % revoked.length]!, ip), 401, "key_revoked");
    expect((await rest(f.adminKey, ip)).status).toBe(200);
    expect((await trpc(f.adminKey, ip)).status).toBe(200);
    // Each revoked key cost one lookup (then came from the cache): five lookups, so the address is throttled for unknown keys.
    expectProblem(await rest(generateKey(), ip), 429, "too_many_failures");
  });

  it("counts an IPv6 client by its /64", async () => {
    for (let i = 1; i <= 3; i++) expectProblem(await rest(generateKey(), `2001:db8:7:7::${i}`), 401, "invalid_key");
    expectProblem(await rest(generateKey(), "2001:db8:7:7:ffff::1"), 429, "too_many_failures");
    expectProblem(await rest(generateKey(), "2001:db8:7:8::1"), 401, "invalid_key");
  });

  it("answers a repeated unknown key from the negative cache: one lookup, however often and wherever it is sent", async () => {
    const ip = freshAddress();
    const unknown = generateKey();
    lookups.mockClear();
    for (let i = 0; i < 10; i++) expectProblem(await rest(unknown, ip), 401, "invalid_key");
    expect(trpcCode(await trpc(unknown, ip))).toBe("invalid_key");
    expect(lookups).toHaveBeenCalledTimes(1);
    // From a throttled address it is a 429, still without a lookup.
    const throttled = freshAddress();
    await tripThrottle(throttled);
    lookups.mockClear();
    expectProblem(await rest(unknown, throttled), 429, "too_many_failures");
    expect(lookups).not.toHaveBeenCalled();
  });

  it("looks up forged keys in the URL of public routes only up to the address's failure limit, and refuses every one with 400", async () => {
    const ip = freshAddress();
    lookups.mockClear();
    for (let i = 0; i < 12; i++) {
      const path = i % 2 === 0 ? `/api/v1/openapi.json?x=${generateKey()}` : `/api/v1/no-such-thing?q=${generateKey()}`;
      expectProblem(await call(f.app, path, { headers: from(ip) }), 400, "credentials_in_url");
    }
    expect(lookups).toHaveBeenCalledTimes(3);
    // Header credentials from that address share the count.
    expectProblem(await rest(generateKey(), ip), 429, "too_many_failures");
    expect((await rest(f.memberKey, ip)).status).toBe(200);
  });
});
