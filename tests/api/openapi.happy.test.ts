import OpenAPIParser from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../support/keyward";
import { call, setup, type Fixture } from "./support";

type Document = { openapi: string; paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown; responses: Record<string, { content?: Record<string, unknown> }> }>>; components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> } };

describe("GET /api/v1/openapi.json", () => {
  let f: Fixture;
  let document: Document;
  beforeAll(async () => {
    f = await setup();
    const response = await call<Document>(f.app, "/api/v1/openapi.json");
    expect(response.status).toBe(200);
    document = response.body;
  });
  afterAll(() => f.close());

  it("is public and a valid OpenAPI 3.1 document", async () => {
    expect(document.openapi).toBe("3.1.0");
    await expect(OpenAPIParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
  });

  it("documents every endpoint of the contract, with the ApiKey fields the contract lists", () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations).toEqual(
      expect.arrayContaining([
        "GET /api/v1/me",
        "GET /api/v1/keys",
        "POST /api/v1/keys",
        "GET /api/v1/keys/{id}",
        "PATCH /api/v1/keys/{id}",
        "DELETE /api/v1/keys/{id}",
        "POST /api/v1/keys/{id}/rotate",
        "POST /api/v1/keys/{id}/reveal",
        "POST /api/v1/verify",
        "GET /api/v1/openapi.json",
        "GET /api/health",
        "GET /api/ready",
      ]),
    );
    const apiKey = document.components.schemas.ApiKey!;
    for (const field of ["id", "name", "description", "start", "last4", "ownerId", "scopes", "allowedIps", "rateLimit", "status", "expiresAt", "disabledAt", "revokedAt", "createdAt", "updatedAt", "lastUsedAt", "lastUsedIp", "requestCount", "metadata", "recoverable"]) {
      expect(apiKey.properties, field).toHaveProperty(field);
    }
    expect(apiKey.properties).not.toHaveProperty("digest");
    // Generated from the handlers' own schemas: the create body lists what POST /keys validates.
    expect(Object.keys(document.components.schemas.CreateKeyRequest!.properties!).sort()).toEqual(
      ["allowedIps", "description", "expiresAt", "expiresInDays", "metadata", "name", "ownerId", "rateLimit", "recoverable", "scopes"].sort(),
    );
  });

  /** An open alert about a key: a use of the revoked key fires the "revoked key used" rule. */
  async function openAlert(keyId: string): Promise<string> {
    f.app.keyward.securityEvents.record({ kind: "key_revoked", severity: "warning", keyId, clientIp: "203.0.113.7" });
    await f.app.keyward.securityEvents.flush();
    const { data } = await f.app.keyward.security.listAlerts(system, { status: "open" });
    return data.find((alert) => alert.subject === keyId)!.id;
  }

  it("every documented path answers with success (never 404 or 500)", async () => {
    for (const [template, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        // A fresh target each time, so a DELETE cannot spoil the next operation.
        const { key: target, apiKey } = await f.createKey(f.admin.id, { scopes: ["admin"], recoverable: true });
        const path = template.replace("{id}", template.startsWith("/api/v1/alerts/") ? await openAlert(apiKey.id) : apiKey.id);
        const key = operation.security?.length === 0 ? undefined : f.adminKey;
        if (operation.responses["200"]?.content?.["text/event-stream"]) {
          // A stream never ends: its status and type are the answer.
          const controller = new AbortController();
          const response = await fetch(`${f.app.url}${path}`, { headers: { Authorization: `Bearer ${key}` }, signal: controller.signal });
          expect(response.status, `${method} ${path}`).toBe(200);
          expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
          controller.abort();
          continue;
        }
        const body = method === "post" && path.endsWith("/keys") ? { name: "doc", scopes: ["read"] } : method === "post" && path.endsWith("/verify") ? { key: target } : undefined;
        const response = await call(f.app, path, { method: method.toUpperCase(), key, body });
        expect(response.status, `${method} ${path}: ${response.text}`).toBeLessThan(400);
      }
    }
  });

  it("is rendered for people at /docs/api", async () => {
    const response = await fetch(`${f.app.url}/docs/api`);
    expect(response.status).toBe(200);
    const html = await response.text();
    for (const text of ["/api/v1/keys/{id}/rotate", "Verify a key", "insufficient_scope", "CreateKeyRequest", "gracePeriodSeconds", "credentials_in_url"]) {
      expect(html).toContain(text);
    }
  });
});
