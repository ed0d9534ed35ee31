import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, setup, type Fixture } from "../api/support";

/**
 * Spectral, with `spectral:oas` and the OWASP ruleset (.spectral.yaml, where each rule turned off
 * says why), on the document the running app serves: 0 errors, 0 warnings. And what .spectral.yaml
 * leaves to this test: the request side is bounded (OWASP's string/array limits, for input only).
 */

const run = promisify(execFile);
const ROOT = path.resolve(".");

type Schema = Record<string, unknown>;

// The document depends on code only, not on the backend: the Postgres + Redis run of the suite skips this.
describe.skipIf(Boolean(process.env.DATABASE_URL))("Spectral on the served document", () => {
  let f: Fixture;
  let dir: string;
  let document: Schema & { paths: Record<string, Record<string, Schema>>; components: { schemas: Record<string, Schema> } };
  beforeAll(async () => {
    f = await setup();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "keyward-spectral-"));
    const served = await call<typeof document>(f.app, "/api/v1/openapi.json");
    expect(served.status).toBe(200);
    document = served.body;
    await fs.writeFile(path.join(dir, "openapi.json"), served.text);
  });
  afterAll(async () => {
    await f?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("reports 0 errors and 0 warnings with spectral:oas and the OWASP ruleset", async () => {
    const result = await run(path.join(ROOT, "node_modules/.bin/spectral"), ["lint", path.join(dir, "openapi.json"), "-r", path.join(ROOT, ".spectral.yaml"), "-f", "json", "-o", path.join(dir, "findings.json"), "--fail-severity", "hint"], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    }).catch((error: { stdout: string; stderr: string }) => error);
    const findings = JSON.parse(await fs.readFile(path.join(dir, "findings.json"), "utf8")) as { code: string; severity: number; path: string[]; message: string }[];
    expect(
      findings.map((finding) => `${finding.code} ${finding.path.join(".")}: ${finding.message}`),
      `${result.stdout}${result.stderr}`,
    ).toEqual([]);
  }, 180_000);

  it("bounds every request string and array (what .spectral.yaml's string and array limits leave to this test)", () => {
    const resolve = (schema: Schema): Schema =>
      typeof schema.$ref === "string" ? document.components.schemas[schema.$ref.split("/").pop()!]! : schema;
    const unbounded: string[] = [];
    const walk = (schema: Schema, where: string, seen: Set<Schema>) => {
      const target = resolve(schema);
      if (seen.has(target)) return;
      seen.add(target);
      if (target.type === "string" && ["maxLength", "enum", "const", "pattern", "format"].every((keyword) => target[keyword] === undefined)) unbounded.push(where);
      if (target.type === "array" && target.maxItems === undefined) unbounded.push(where);
      for (const [keyword, value] of Object.entries(target)) {
        if (keyword === "properties" || keyword === "patternProperties") {
          for (const [name, property] of Object.entries(value as Record<string, Schema>)) walk(property, `${where}.${name}`, seen);
        } else if (["items", "additionalProperties", "propertyNames"].includes(keyword) && typeof value === "object" && value !== null) {
          walk(value as Schema, `${where}.${keyword}`, seen);
        } else if (["anyOf", "oneOf", "allOf"].includes(keyword)) {
          for (const [index, option] of (value as Schema[]).entries()) walk(option, `${where}.${keyword}.${index}`, seen);
        }
      }
    };
    for (const [template, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const given of (operation.parameters ?? []) as ({ name: string; schema: Schema } | { $ref: string })[]) {
          // A shared parameter (Idempotency-Key) is a reference into components.parameters.
          const parameter = "$ref" in given ? (document.components as unknown as { parameters: Record<string, { name: string; schema: Schema }> }).parameters[given.$ref.split("/").pop()!]! : given;
          walk(parameter.schema, `${method} ${template} ?${parameter.name}`, new Set());
        }
        const body = (operation.requestBody as { content: Record<string, { schema: Schema }> } | undefined)?.content["application/json"];
        if (body) walk(body.schema, `${method} ${template} body`, new Set());
      }
    }
    expect(unbounded).toEqual([]);
  });
});
