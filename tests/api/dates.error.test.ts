import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EARLIEST_INSTANT, LATEST_INSTANT } from "../../app/lib/dates";
import { call, expectProblem, setup, type Fixture } from "./support";

/**
 * Dates a client can put in a cursor or a `from`/`to` filter that PostgreSQL cannot store (year 0,
 * JavaScript's ±275760) or that lie outside the one range Keyward accepts: each is the caller's
 * 422 validation_failed on every read, REST and tRPC alike, never a 500 from the database.
 */
const OUT_OF_RANGE = [
  "0000-01-01T00:00:00.000Z",
  "+275760-09-13T00:00:00.000Z",
  "-271821-04-20T00:00:00.000Z",
  "+010000-01-01T00:00:00.000Z",
  new Date(EARLIEST_INSTANT.getTime() - 1).toISOString(),
  new Date(LATEST_INSTANT.getTime() + 1).toISOString(),
];
/** The same instants as a filter value: the extended-year forms and the plain ones. */
const OUT_OF_RANGE_FILTERS = [...OUT_OF_RANGE, "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1969-12-31T23:59:59+00:00"];

const cursorAt = (at: string, id: string | number) => Buffer.from(JSON.stringify([at, id])).toString("base64url");

describe("dates outside the accepted range", () => {
  let f: Fixture;
  let keyId: string;
  beforeAll(async () => {
    f = await setup();
    keyId = (await f.createKey(f.admin.id, { name: "dated" })).apiKey.id;
  });
  afterAll(() => f?.close());

  const cursorPaths = () => [
    { path: "/api/v1/keys", id: "key_00000000000000000000" },
    { path: "/api/v1/audit", id: "aud_00000000000000000000" },
    { path: "/api/v1/security-events", id: "sev_00000000000000000000" },
    { path: "/api/v1/alerts", id: "alr_00000000000000000000" },
    { path: `/api/v1/keys/${keyId}/requests`, id: 1 },
  ];

  it.each(OUT_OF_RANGE)("a cursor at %s is refused with 422 validation_failed on every paged REST read", async (at) => {
    for (const { path, id } of cursorPaths()) {
      const response = await call(f.app, `${path}?cursor=${cursorAt(at, id)}`, { key: f.adminKey });
      expectProblem(response, 422, "validation_failed");
      expect(response.body.errors, path).toEqual([{ field: "cursor", message: "The cursor is not one this API returned" }]);
    }
  });

  it.each(OUT_OF_RANGE_FILTERS)("from/to = %s is refused with 422 validation_failed on every filtered REST read", async (at) => {
    const paths = ["/api/v1/audit", "/api/v1/audit/export", "/api/v1/security-events", "/api/v1/usage/summary", `/api/v1/keys/${keyId}/usage?granularity=day`];
    for (const path of paths) {
      for (const name of ["from", "to"]) {
        const url = `${path}${path.includes("?") ? "&" : "?"}${name}=${encodeURIComponent(at)}`;
        expectProblem(await call(f.app, url, { key: f.adminKey }), 422, "validation_failed");
      }
    }
  });

  it("the edges of the range are accepted", async () => {
    for (const path of ["/api/v1/audit", "/api/v1/security-events"]) {
      const response = await call(f.app, `${path}?from=${EARLIEST_INSTANT.toISOString()}&to=${LATEST_INSTANT.toISOString()}`, { key: f.adminKey });
      expect(response.status, response.text).toBe(200);
    }
    const cursor = cursorAt(LATEST_INSTANT.toISOString(), "key_00000000000000000000");
    expect((await call(f.app, `/api/v1/keys?cursor=${cursor}`, { key: f.adminKey })).status).toBe(200);
  });

  it.each(OUT_OF_RANGE)("tRPC reads refuse a cursor or filter at %s as a 4xx validation failure, never a 500", async (at) => {
    const inputs: [string, unknown][] = [
      ["keys.list", { cursor: cursorAt(at, "key_00000000000000000000") }],
      ["audit.list", { cursor: cursorAt(at, "aud_00000000000000000000") }],
      ["audit.list", { from: at }],
      ["security.events", { to: at }],
      ["usage.summary", { from: at }],
      ["usage.requests", { id: keyId, cursor: cursorAt(at, 1) }],
    ];
    for (const [procedure, input] of inputs) {
      const response = await call(f.app, `/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, { key: f.adminKey });
      // A schema's refusal is tRPC's 400 BAD_REQUEST; a service's validation_failed (the cursor) is 422.
      expect([400, 422], `${procedure} ${JSON.stringify(input)} → ${response.text}`).toContain(response.status);
    }
  });
});
