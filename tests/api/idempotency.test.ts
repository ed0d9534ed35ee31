import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, auditEvents, idempotencyKeys } from "../../db/schema";
import { ManualClock } from "../../app/services/clock.server";
import { canonicalJson, idempotencyCaller, requestFingerprint } from "../../app/services/idempotency.server";
import type { ServerProcess } from "../../scripts/lib/server-process";
import { createKeyward as createSdk } from "../../sdk/src/index";
import { system, createUser } from "../support/keyward";
import { twoInstancesOnPostgres } from "../support/two-instances";
import { call, expectProblem, setup, type ApiResponse, type Fixture } from "./support";

type Created = { key: string; apiKey: { id: string; name: string } };
type Rotated = { key: string; apiKey: { id: string }; previous: { id: string } };

let counter = 0;
const unique = (prefix: string) => `${prefix} ${++counter} ${Math.random().toString(36).slice(2, 8)}`;

describe("Idempotency-Key on REST POSTs", () => {
  const clock = new ManualClock(new Date("2026-11-25T12:00:00Z"));
  let f: Fixture;
  beforeAll(async () => {
    f = await setup({ clock });
  });
  afterAll(() => f.close());

  const db = () => f.app.keyward.database.db;
  const keysNamed = (name: string) => db().select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.name, name));
  const auditOf = (targetId: string) => db().select().from(auditEvents).where(eq(auditEvents.targetId, targetId));
  const create = (key: string, body: unknown, idempotencyKey: string | undefined) =>
    call<Created>(f.app, "/api/v1/keys", { key, method: "POST", body, headers: idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey } });

  it("a retried create returns the first answer (same id and plaintext), marked Idempotent-Replayed, and makes one key and one audit entry", async () => {
    const name = unique("retried");
    const first = await create(f.memberKey, { name, scopes: ["read"] }, "create-1");
    expect(first.status, first.text).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const second = await create(f.memberKey, { name, scopes: ["read"] }, "create-1");
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.headers.get("content-type")).toMatch(/^application\/json/);
    expect(second.body).toEqual(first.body);
    expect(second.body.key).toBe(first.body.key);
    // The same body with members in another order and other spacing is the same request.
    const reordered = await create(f.memberKey, `{ "scopes": ["read"],   "name": ${JSON.stringify(name)} }`, "create-1");
    expect(reordered.headers.get("idempotent-replayed")).toBe("true");
    expect(reordered.body.apiKey.id).toBe(first.body.apiKey.id);

    expect(await keysNamed(name)).toHaveLength(1);
    const audit = await auditOf(first.body.apiKey.id);
    expect(audit.filter((entry) => entry.action === "key.created")).toHaveLength(1);
    // The replayed key works: it is the one key that was made.
    expect((await call(f.app, "/api/v1/me", { key: second.body.key })).status).toBe(200);
  });

  it("without the header nothing changes: two requests make two keys", async () => {
    const name = unique("no header");
    expect((await create(f.memberKey, { name, scopes: ["read"] }, undefined)).status).toBe(201);
    expect((await create(f.memberKey, { name, scopes: ["read"] }, undefined)).status).toBe(201);
    expect(await keysNamed(name)).toHaveLength(2);
  });

  it("the same key with a different body, or on another path, is 422 idempotency_key_reused; nothing is made", async () => {
    const name = unique("reused");
    expect((await create(f.memberKey, { name, scopes: ["read"] }, "reuse-1")).status).toBe(201);
    const otherBody = await create(f.memberKey, { name, scopes: ["read", "write"] }, "reuse-1");
    expectProblem(otherBody, 422, "idempotency_key_reused");
    const otherPath = await call(f.app, "/api/v1/apis", { key: f.memberKey, method: "POST", body: { name }, headers: { "Idempotency-Key": "reuse-1" } });
    expectProblem(otherPath, 422, "idempotency_key_reused");
    expect(await keysNamed(name)).toHaveLength(1);
  });

  it("keys are per caller: another user's same Idempotency-Key is independent", async () => {
    const name = unique("per caller");
    const mine = await create(f.memberKey, { name, scopes: ["read"] }, "shared-key");
    const theirs = await create(f.otherKey, { name, scopes: ["read"] }, "shared-key");
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get("idempotent-replayed")).toBeNull();
    expect(theirs.body.apiKey.id).not.toBe(mine.body.apiKey.id);
    expect(await keysNamed(name)).toHaveLength(2);
  });

  it("the same user through another of their keys gets the replay (the caller is the user, not the key)", async () => {
    const name = unique("same user");
    const { key: secondKey } = await f.createKey(f.member.id, { name: "second key of the member" });
    const first = await create(f.memberKey, { name, scopes: ["read"] }, "user-scope");
    const again = await create(secondKey, { name, scopes: ["read"] }, "user-scope");
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.apiKey.id).toBe(first.body.apiKey.id);
  });

  it("concurrent duplicates make exactly one key; the others replay it or get 409 idempotency_key_in_use", async () => {
    const name = unique("concurrent");
    const responses = await Promise.all([0, 1, 2, 3, 4].map(() => create(f.memberKey, { name, scopes: ["read"] }, "concurrent-1")));
    const created = responses.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const response of responses) if (response.status !== 201) expectProblem(response, 409, "idempotency_key_in_use");
    expect(new Set(created.map((r) => r.body.apiKey.id)).size).toBe(1);
    expect(created.filter((r) => r.headers.get("idempotent-replayed") === null)).toHaveLength(1);
    expect(await keysNamed(name)).toHaveLength(1);
  });

  it("a retried rotate makes one successor and answers the same", async () => {
    const old = await f.createKey(f.member.id, { name: unique("rotating") });
    const rotate = () => call<Rotated>(f.app, `/api/v1/keys/${old.apiKey.id}/rotate`, { key: f.memberKey, method: "POST", body: { gracePeriodSeconds: 60 }, headers: { "Idempotency-Key": "rotate-1" } });
    const first = await rotate();
    expect(first.status, first.text).toBe(201);
    const second = await rotate();
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.body).toEqual(first.body);
    const successors = await db().select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.rotatedFrom, old.apiKey.id));
    expect(successors.map((row) => row.id)).toEqual([first.body.apiKey.id]);
    expect((await auditOf(old.apiKey.id)).filter((entry) => entry.action === "key.rotated")).toHaveLength(1);
  });

  it("a 4xx the handler answered is replayed too (Stripe's semantics); auth refusals are not stored", async () => {
    const missing = "key_0123456789abcdefABCD";
    const first = await call(f.app, `/api/v1/keys/${missing}/rotate`, { key: f.memberKey, method: "POST", headers: { "Idempotency-Key": "rotate-missing" } });
    expectProblem(first, 404, "not_found");
    const second = await call(f.app, `/api/v1/keys/${missing}/rotate`, { key: f.memberKey, method: "POST", headers: { "Idempotency-Key": "rotate-missing" } });
    expect(second.status).toBe(404);
    expect(second.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.body).toEqual(first.body);

    // A read-only key is refused before the handler: nothing is stored, so the same key works later.
    const name = unique("scope first");
    expectProblem(await create(f.memberReadKey, { name, scopes: ["read"] }, "refused-then-ok"), 403, "insufficient_scope");
    const later = await create(f.memberKey, { name, scopes: ["read"] }, "refused-then-ok");
    expect(later.status).toBe(201);
    expect(later.headers.get("idempotent-replayed")).toBeNull();
  });

  it("a malformed Idempotency-Key is 400 invalid_idempotency_key and makes nothing", async () => {
    const name = unique("malformed");
    expectProblem(await create(f.memberKey, { name, scopes: ["read"] }, "x".repeat(256)), 400, "invalid_idempotency_key");
    expectProblem(await create(f.memberKey, { name, scopes: ["read"] }, "tab\there"), 400, "invalid_idempotency_key");
    expect((await create(f.memberKey, { name, scopes: ["read"] }, "x".repeat(255))).status).toBe(201);
    expect((await create(f.memberKey, { name: unique("printable"), scopes: ["read"] }, " !~ ok")).status).toBe(201);
    expect(await keysNamed(name)).toHaveLength(1);
  });

  it("the stored answer is encrypted: neither the plaintext key nor its id is in the table", async () => {
    const name = unique("stored");
    const created = await create(f.memberKey, { name, scopes: ["read"] }, "stored-1");
    const rows = await db().select().from(idempotencyKeys).where(eq(idempotencyKeys.key, "stored-1"));
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ caller: idempotencyCaller(f.member.id), state: "done", responseStatus: 201 });
    expect(row.requestHash).toMatch(/^[0-9a-f]{64}$/);
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(created.body.key);
    expect(stored).not.toContain(created.body.key.slice(3, 20));
    expect(stored).not.toContain(created.body.apiKey.id);
    expect(stored).not.toContain(name);
    expect(row.responseBody).toMatch(/^v1:/);
  });

  it("user management honours it: a retried user creation makes one user, a retried password reset answers the same password", async () => {
    const email = `${unique("user").replace(/\W+/g, "-")}@example.test`;
    const createUser = () => call<{ id: string }>(f.app, "/api/v1/users", { key: f.adminKey, method: "POST", body: { email, role: "member", password: "correct horse battery staple" }, headers: { "Idempotency-Key": `user-${email}` } });
    const first = await createUser();
    expect(first.status, first.text).toBe(201);
    const second = await createUser();
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.body.id).toBe(first.body.id);
    const reset = () => call<{ password: string }>(f.app, `/api/v1/users/${first.body.id}/reset-password`, { key: f.adminKey, method: "POST", body: {}, headers: { "Idempotency-Key": `reset-${email}` } });
    const once = await reset();
    expect(once.status, once.text).toBe(200);
    const twice = await reset();
    expect(twice.headers.get("idempotent-replayed")).toBe("true");
    expect(twice.body.password).toBe(once.body.password);
  });

  it("identities, APIs, issued keys and identity-wide revocation honour it too", async () => {
    const apiName = unique("api");
    const createApi = () => call<{ id: string }>(f.app, "/api/v1/apis", { key: f.memberKey, method: "POST", body: { name: apiName, prefix: `idem${counter}` }, headers: { "Idempotency-Key": "api-1" } });
    const api = await createApi();
    expect(api.status, api.text).toBe(201);
    expect((await createApi()).body.id).toBe(api.body.id);

    const issue = () => call<Created>(f.app, `/api/v1/apis/${api.body.id}/keys`, { key: f.memberKey, method: "POST", body: { name: "issued", externalId: "cust-1" }, headers: { "Idempotency-Key": "issue-1" } });
    const issued = await issue();
    expect(issued.status, issued.text).toBe(201);
    const again = await issue();
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.key).toBe(issued.body.key);

    const identity = () => call<{ id: string }>(f.app, "/api/v1/identities", { key: f.memberKey, method: "POST", body: { apiId: api.body.id, externalId: "cust-2" }, headers: { "Idempotency-Key": "identity-1" } });
    const firstIdentity = await identity();
    expect(firstIdentity.status, firstIdentity.text).toBe(201);
    const secondIdentity = await identity();
    expect(secondIdentity.headers.get("idempotent-replayed")).toBe("true");
    expect(secondIdentity.body.id).toBe(firstIdentity.body.id);

    const revoke = (id: string) => call(f.app, `/api/v1/identities/${id}/revoke-keys`, { key: f.memberKey, method: "POST", headers: { "Idempotency-Key": "revoke-1" } });
    const revoked = await revoke(firstIdentity.body.id);
    expect(revoked.status, revoked.text).toBe(200);
    expect((await revoke(firstIdentity.body.id)).headers.get("idempotent-replayed")).toBe("true");
  });

  it("an in-flight claim blocks its key (409) until its lock times out (60 s): a crashed instance does not lock it forever", async () => {
    const name = unique("crashed");
    const body = { name, scopes: ["read"] };
    // An instance that claimed the key and died before answering.
    const claim = await f.app.keyward.idempotency.claim(idempotencyCaller(f.member.id), "crashed-1", requestFingerprint("POST", "/api/v1/keys", `json:${canonicalJson(body)}`));
    expect(claim.kind).toBe("run");
    expectProblem(await create(f.memberKey, body, "crashed-1"), 409, "idempotency_key_in_use");
    clock.advance(61_000);
    const retried = await create(f.memberKey, body, "crashed-1");
    expect(retried.status, retried.text).toBe(201);
    expect(await keysNamed(name)).toHaveLength(1);
  });

  it("answers are kept 24 hours: after that the same key makes a new key", async () => {
    const name = unique("expiring");
    const first = await create(f.memberKey, { name, scopes: ["read"] }, "expiring-1");
    clock.advance(23 * 3600_000);
    expect((await create(f.memberKey, { name, scopes: ["read"] }, "expiring-1")).headers.get("idempotent-replayed")).toBe("true");
    clock.advance(3600_000 + 1000);
    const later = await create(f.memberKey, { name, scopes: ["read"] }, "expiring-1");
    expect(later.status).toBe(201);
    expect(later.headers.get("idempotent-replayed")).toBeNull();
    expect(later.body.apiKey.id).not.toBe(first.body.apiKey.id);
    expect(await keysNamed(name)).toHaveLength(2);
    // Expired rows are purged lazily: the other keys stored a day ago are gone.
    expect(await db().select().from(idempotencyKeys).where(eq(idempotencyKeys.key, "create-1"))).toHaveLength(0);
  });
});

describe("Idempotency-Key through tRPC and the SDK", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  const keysNamed = (name: string) => f.app.keyward.database.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.name, name));

  it("is documented: the OpenAPI parameter, header and codes on every idempotent operation, and /docs/api", async () => {
    const document = (await call<{ paths: Record<string, Record<string, { operationId: string; parameters?: unknown[]; responses: Record<string, { headers?: Record<string, unknown>; "x-codes"?: string[] }> }>>; components: { parameters: Record<string, { name: string; in: string }> } }>(f.app, "/api/v1/openapi.json")).body;
    expect(document.components.parameters.IdempotencyKey).toMatchObject({ name: "Idempotency-Key", in: "header" });
    const operations = Object.values(document.paths).flatMap((item) => Object.values(item));
    for (const operationId of ["createKey", "rotateKey", "createApi", "createApiKey", "createIdentity"]) {
      const operation = operations.find((op) => op.operationId === operationId)!;
      expect(operation.parameters).toContainEqual({ $ref: "#/components/parameters/IdempotencyKey" });
      expect(operation.responses["409"]!["x-codes"]).toContain("idempotency_key_in_use");
      expect(operation.responses["422"]!["x-codes"]).toContain("idempotency_key_reused");
      expect(operation.responses["400"]!["x-codes"]).toContain("invalid_idempotency_key");
      expect(operation.responses["201"]!.headers).toHaveProperty("Idempotent-Replayed");
    }
    expect(operations.find((op) => op.operationId === "revokeKey")?.parameters ?? []).not.toContainEqual({ $ref: "#/components/parameters/IdempotencyKey" });
    const html = await (await fetch(`${f.app.url}/docs/api`)).text();
    for (const text of ['id="idempotency"', 'id="error-idempotency_key_reused"', 'id="error-idempotency_key_in_use"', "Idempotent-Replayed", "hasMore"]) expect(html).toContain(text);
  });

  it("tRPC keys.create with the header replays the first answer", async () => {
    const name = unique("trpc");
    const send = () =>
      fetch(`${f.app.url}/api/trpc/keys.create`, {
        method: "POST",
        headers: { Authorization: `Bearer ${f.memberKey}`, "Content-Type": "application/json", "Idempotency-Key": "trpc-1" },
        body: JSON.stringify({ name, scopes: ["read"] }),
      });
    const first = await send();
    const firstBody = (await first.json()) as { result: { data: Created } };
    expect(first.status).toBe(200);
    const second = await send();
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await second.json()).toEqual(firstBody);
    expect(await keysNamed(name)).toHaveLength(1);
    const reused = await fetch(`${f.app.url}/api/trpc/keys.create`, {
      method: "POST",
      headers: { Authorization: `Bearer ${f.memberKey}`, "Content-Type": "application/json", "Idempotency-Key": "trpc-1" },
      body: JSON.stringify({ name, scopes: ["read", "write"] }),
    });
    expect(reused.status).toBe(422);
    expect(((await reused.json()) as { error: { data: { keywardCode: string } } }).error.data.keywardCode).toBe("idempotency_key_reused");
  });

  it("the SDK retries a create whose answer was lost after the server made the key, and gets that key: one key", async () => {
    const name = unique("sdk lost answer");
    let dropped = 0;
    const keys: (string | null)[] = [];
    const lossy = async (input: string, init: RequestInit) => {
      const response = await fetch(input, init);
      keys.push(new Headers(init.headers).get("idempotency-key"));
      // The server handled the first request completely; the client never sees its answer.
      if (input.endsWith("/keys.create") && dropped++ === 0) {
        await response.arrayBuffer();
        throw new TypeError("fetch failed: connection reset");
      }
      return response;
    };
    const sdk = createSdk({ baseUrl: f.app.url, apiKey: f.memberKey, fetch: lossy, retries: 2, backoff: { initialMs: 10, maxMs: 20 } });
    const created = await sdk.keys.create({ name, scopes: ["read"] });
    expect(dropped).toBe(2);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBeTruthy();
    expect(keys[1]).toBe(keys[0]);
    const rows = await keysNamed(name);
    expect(rows).toEqual([{ id: created.apiKey.id }]);
    expect((await call(f.app, "/api/v1/me", { key: created.key })).status).toBe(200);
  });

  it("the SDK retries a lost rotate: one successor", async () => {
    const old = await f.createKey(f.member.id, { name: unique("sdk rotating") });
    let dropped = false;
    const lossy = async (input: string, init: RequestInit) => {
      const response = await fetch(input, init);
      if (input.endsWith("/keys.rotate") && !dropped) {
        dropped = true;
        await response.arrayBuffer();
        throw new TypeError("fetch failed");
      }
      return response;
    };
    const sdk = createSdk({ baseUrl: f.app.url, apiKey: f.memberKey, fetch: lossy, retries: 1, backoff: { initialMs: 10, maxMs: 20 } });
    const rotated = await sdk.keys.rotate({ id: old.apiKey.id });
    const successors = await f.app.keyward.database.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.rotatedFrom, old.apiKey.id));
    expect(successors).toEqual([{ id: rotated.apiKey.id }]);
  });
});

/** Two app processes on one Postgres: the claim is a row, so they agree. PGlite allows one process, so Postgres only. */
describe.skipIf(!process.env.DATABASE_URL)("Idempotency-Key across two app instances on one Postgres", () => {
  const cluster = twoInstancesOnPostgres("idem");
  const { instances } = cluster;

  it("the same create sent to both instances at once makes one key", async () => {
    const user = await createUser(cluster.keyward, "member");
    const { key } = await cluster.keyward.keys.create(system, { name: "caller", scopes: ["read", "write"], ownerId: user.id });
    for (const round of [1, 2, 3]) {
      const name = `two instances ${round}`;
      const send = (instance: ServerProcess) =>
        fetch(`${instance.url}/api/v1/keys`, {
          method: "POST",
          headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", "Idempotency-Key": `both-${round}` },
          body: JSON.stringify({ name, scopes: ["read"] }),
        }).then(async (r): Promise<Pick<ApiResponse<Created>, "status" | "headers" | "body">> => ({ status: r.status, headers: r.headers, body: (await r.json()) as Created }));
      const responses = await Promise.all([instances[0]!, instances[1]!, instances[0]!, instances[1]!].map(send));
      for (const response of responses) expect([201, 409]).toContain(response.status);
      const ids = new Set(responses.filter((r) => r.status === 201).map((r) => r.body.apiKey.id));
      expect(ids.size).toBe(1);
      const rows = await cluster.keyward.database.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.name, name));
      expect(rows).toHaveLength(1);
      // Afterwards either instance replays it.
      const replay = await send(instances[round % 2]!);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.body.apiKey.id).toBe(rows[0]!.id);
    }
  });
});
