import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents } from "../../db/schema";
import { call, setup, type Fixture } from "./support";

describe("POST /api/v1/keys/{id}/reveal", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setup();
  });
  afterAll(() => f.close());

  it("gives an admin the plaintext of a recoverable key, and records it", async () => {
    const { key, apiKey } = await f.createKey(f.member.id, { recoverable: true });
    const response = await call<{ key: string }>(f.app, `/api/v1/keys/${apiKey.id}/reveal`, { key: f.adminKey, method: "POST" });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ key });
    const audit = await f.app.keyward.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.targetId, apiKey.id), eq(auditEvents.action, "key.revealed")));
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorType: "api_key", actorId: f.admin.id, clientIp: "127.0.0.1" });
    expect(JSON.stringify(audit[0])).not.toContain(key);
  });
});
