import { HttpResponse } from "msw";
import { expect } from "vitest";
import { crc32 } from "../src/key-format";

export const BASE_URL = "http://keyward.test";
export const TRPC = `${BASE_URL}/api/trpc`;

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A well-formed key (prefix, length, alphabet and checksum) with random characters: a root key by default. */
export function wellFormedKey(prefix = "kw"): string {
  let body = `${prefix}_`;
  while (body.length < 58) body += BASE62[Math.floor(Math.random() * 62)];
  let checksum = "";
  let rest = crc32(body);
  for (let i = 0; i < 6; i++) {
    checksum = BASE62[rest % 62] + checksum;
    rest = Math.floor(rest / 62);
  }
  return body + checksum;
}

/** A well-formed key issued for an API with the prefix `acme_live`. */
export const issuedKey = () => wellFormedKey("acme_live");

/** A tRPC success answer, as the server's fetch adapter sends it. */
export function trpcData(data: unknown, init: { headers?: Record<string, string>; status?: number } = {}) {
  return HttpResponse.json({ result: { data } }, { status: init.status ?? 200, headers: { "X-Request-Id": "req-ok-0001", ...init.headers } });
}

const JSON_RPC_CODES: Record<number, [number, string]> = {
  400: [-32600, "BAD_REQUEST"],
  401: [-32001, "UNAUTHORIZED"],
  403: [-32003, "FORBIDDEN"],
  404: [-32004, "NOT_FOUND"],
  405: [-32005, "METHOD_NOT_SUPPORTED"],
  409: [-32009, "CONFLICT"],
  413: [-32013, "PAYLOAD_TOO_LARGE"],
  422: [-32022, "UNPROCESSABLE_CONTENT"],
  429: [-32029, "TOO_MANY_REQUESTS"],
  500: [-32603, "INTERNAL_SERVER_ERROR"],
  503: [-32603, "SERVICE_UNAVAILABLE"],
};

/** A tRPC error answer shaped by Keyward's errorFormatter (app/trpc/trpc.server.ts). */
export function trpcError(
  keywardCode: string,
  httpStatus: number,
  init: { message?: string; path?: string; headers?: Record<string, string>; fieldErrors?: Record<string, string[]> } = {},
) {
  const [code, name] = JSON_RPC_CODES[httpStatus] ?? [-32603, "INTERNAL_SERVER_ERROR"];
  return HttpResponse.json(
    {
      error: {
        message: init.message ?? `failed with ${keywardCode}`,
        code,
        data: { code: name, httpStatus, path: init.path, keywardCode, fieldErrors: init.fieldErrors },
      },
    },
    { status: httpStatus, headers: { "X-Request-Id": `req-${keywardCode}`, ...init.headers } },
  );
}

/** The procedure a tRPC request calls: `/api/trpc/keys.list` → `keys.list`. */
export function procedureOf(request: Request): string {
  return new URL(request.url).pathname.split("/").at(-1)!;
}

/**
 * Every item of `items` passes `check`, and there is at least one: `[].every(…)` is true, so a list
 * that came back empty would otherwise pass without testing anything (as tests/support/expect.ts).
 */
export function expectEvery<T>(items: readonly T[], check: (item: T) => unknown, what = "the list"): void {
  expect(items.length, `${what} is empty: every() of nothing proves nothing`).toBeGreaterThan(0);
  expect(
    items.filter((item) => !check(item)),
    `items of ${what} that fail the check`,
  ).toEqual([]);
}
