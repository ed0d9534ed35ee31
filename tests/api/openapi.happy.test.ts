import OpenAPIParser from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, setup, type Fixture } from "./support";

type Document = { openapi: string; paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown }>>; components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> } };

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

  it("every documented path answers with success (never 404 or 500)", async () => {
    for (const [template, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        // A fresh target each time, so a DELETE cannot spoil the next operation.
        const { key: target, apiKey } = await f.createKey(f.admin.id, { scopes: ["admin"], recoverable: true });
        const path = template.replace("{id}", apiKey.id);
        const body = method === "post" && path.endsWith("/keys") ? { name: "doc", scopes: ["read"] } : method === "post" && path.endsWith("/verify") ? { key: target } : undefined;
        const response = await call(f.app, path, { method: method.toUpperCase(), key: operation.security?.length === 0 ? undefined : f.adminKey, body });
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
