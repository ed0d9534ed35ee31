import { expect } from "vitest";
import { securityEvents } from "../../db/schema";
import type { CreateKeyInput } from "../../app/lib/key-schemas";
import type { ApiKeyView } from "../../app/services/keys.server";
import type { Clock } from "../../app/services/clock.server";
import { createUser, system } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";
import { assertMatchesDocument } from "../contract/response-validator";

/** What a test sees of an HTTP response. */
export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  /** Sent as `Authorization: Bearer <key>`. */
  key?: string;
  method?: string;
  /** JSON-encoded unless it is already a string. */
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * `false` skips the check against the OpenAPI document (tests/contract/response-validator.ts) that
   * every answer gets otherwise: only for tests of what the document does not describe (pages, forms).
   */
  validate?: false;
}

export async function call<T = Record<string, unknown>>(app: RunningApp, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers.Authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["Content-Type"] ??= "application/json";
  }
  const response = await fetch(`${app.url}${path}`, { method: options.method ?? "GET", headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: the test sees the text.
  }
  if (options.validate !== false) {
    assertMatchesDocument({ method: options.method ?? "GET", path, status: response.status, headers: response.headers, text });
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** Asserts an RFC 9457 problem with Keyward's members, the status and the code. */
export function expectProblem(response: ApiResponse, status: number, code: string): void {
  expect(response.status, response.text).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type: `/docs/api#error-${code}`, status, code });
  expect(typeof response.body.title).toBe("string");
  expect(typeof response.body.detail).toBe("string");
  const requestId = response.headers.get("x-request-id");
  expect(requestId).toBeTruthy();
  // Exactly one request id, and the body quotes it.
  expect(requestId).not.toContain(",");
  expect(response.body.requestId).toBe(requestId);
  expect(response.text).not.toMatch(/at .*\.(js|ts):\d+/);
}

export interface Fixture {
  app: RunningApp;
  admin: { id: string; email: string };
  member: { id: string; email: string };
  other: { id: string; email: string };
  /** Admin's key with every scope. */
  adminKey: string;
  /** Member's keys: read+write, and read only. */
  memberKey: string;
  memberReadKey: string;
  /** Another member's key (read+write). */
  otherKey: string;
  /** Creates a key through the service (not the API under test) and returns its plaintext and view. */
  createKey(ownerId: string, input?: Partial<CreateKeyInput>): Promise<{ key: string; apiKey: ApiKeyView }>;
  close(): Promise<void>;
}

/** A running app with an admin, two members and keys for each. */
export async function setup(
  options: { clock?: Clock; env?: Record<string, string | undefined>; keyDefaults?: Partial<CreateKeyInput> } = {},
): Promise<Fixture> {
  const app = await startApp(options);
  const admin = await createUser(app.keyward, "admin");
  const member = await createUser(app.keyward, "member");
  const other = await createUser(app.keyward, "member");
  const createKey = (ownerId: string, input: Partial<CreateKeyInput> = {}) =>
    app.keyward.keys.create(system, { name: "test key", scopes: ["read", "write"], ownerId, ...options.keyDefaults, ...input });
  return {
    app,
    admin,
    member,
    other,
    adminKey: (await createKey(admin.id, { name: "admin key", scopes: ["admin"] })).key,
    memberKey: (await createKey(member.id, { name: "member key" })).key,
    memberReadKey: (await createKey(member.id, { name: "member read key", scopes: ["read"] })).key,
    otherKey: (await createKey(other.id, { name: "other key" })).key,
    createKey,
    close: () => app.close(),
  };
}

/** Security events written so far (buffered ones are flushed first). */
export async function recordedSecurityEvents(app: RunningApp) {
  await app.keyward.securityEvents.flush();
  return app.keyward.database.db.select().from(securityEvents);
}

/** A key's stored state, read through the service as the system, for before/after comparisons. */
export function keyState(app: RunningApp, id: string): Promise<ApiKeyView> {
  return app.keyward.keys.get(system, id);
}
