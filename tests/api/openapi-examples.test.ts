import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../app/lib/openapi.server";
import { schemaErrors } from "../contract/response-validator";

/** Every request and response body of the document has an example, and each is valid against its schema. */

interface Media {
  schema: Record<string, unknown>;
  example?: unknown;
}
type Operation = {
  operationId: string;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
};

const document = openApiDocument() as { paths: Record<string, Record<string, Operation>>; webhooks: Record<string, Record<string, Operation>> };

const bodies = [...Object.values(document.paths), ...Object.values(document.webhooks)].flatMap((item) =>
  Object.values(item).flatMap((operation) => [
    ...Object.entries(operation.requestBody?.content ?? {}).map(([type, media]) => ({ where: `${operation.operationId} request ${type}`, media })),
    ...Object.entries(operation.responses).flatMap(([status, response]) =>
      Object.entries(response.content ?? {}).map(([type, media]) => ({ where: `${operation.operationId} ${status} ${type}`, media })),
    ),
  ]),
);

describe("the document's examples", () => {
  it("cover every request and response body", () => {
    expect(bodies.length).toBeGreaterThan(100);
    expect(bodies.filter(({ media }) => media.example === undefined).map(({ where }) => where)).toEqual([]);
  });

  it("are valid against their schemas", () => {
    const invalid = bodies.flatMap(({ where, media }) => {
      const errors = schemaErrors(media.schema, media.example);
      return errors ? [`${where}: ${errors}`] : [];
    });
    expect(invalid).toEqual([]);
  });

  it("are checked for real: an example breaking its schema is caught", () => {
    expect(schemaErrors({ $ref: "#/components/schemas/RotateKeyRequest" }, { gracePeriodSeconds: -1 })).toMatch(/gracePeriodSeconds/);
    expect(schemaErrors({ $ref: "#/components/schemas/VerifyResult" }, { valid: true, code: "VALID" })).not.toBeNull();
  });
});
