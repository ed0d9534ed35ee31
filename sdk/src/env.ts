import { createKeyward as createClient, type KeywardClient, type KeywardOptions } from "./client";
import { keywardEvents as openEvents, type EventStreamOptions, type KeywardEventStream } from "./events";

/** The environment variable `createKeyward` reads Keyward's URL from when `baseUrl` is not given. */
export const KEYWARD_URL_ENV = "KEYWARD_URL";
/** The environment variable `createKeyward` reads the root key from when `apiKey` is not given. */
export const KEYWARD_API_KEY_ENV = "KEYWARD_API_KEY";

/** `KeywardOptions` with `baseUrl` and `apiKey` optional: what is left out is read from the environment. */
export type CreateKeywardOptions = Omit<KeywardOptions, "baseUrl" | "apiKey"> & Partial<Pick<KeywardOptions, "baseUrl" | "apiKey">>;
/** `EventStreamOptions` with `baseUrl` and `apiKey` optional: what is left out is read from the environment. */
export type KeywardEventsOptions = Omit<EventStreamOptions, "baseUrl" | "apiKey"> & Partial<Pick<EventStreamOptions, "baseUrl" | "apiKey">>;

/**
 * The process environment where there is one (Node, Bun, Deno's Node compatibility, workers with
 * `nodejs_compat`), else nothing: the SDK runs in browsers and edge runtimes too, where reading a
 * bare `process` would throw.
 */
function environment(): Record<string, string | undefined> {
  const env = (globalThis as { process?: { env?: unknown } }).process?.env;
  return typeof env === "object" && env !== null ? (env as Record<string, string | undefined>) : {};
}

function fromEnvironment(name: string): string | undefined {
  const value = environment()[name]?.trim();
  return value ? value : undefined;
}

/** `baseUrl` and `apiKey` as given, else from the environment; neither is a `TypeError` naming what to set. */
function located<Key>(caller: string, given: { baseUrl?: string; apiKey?: Key }): { baseUrl: string; apiKey: Key | string } {
  const baseUrl = given.baseUrl ?? fromEnvironment(KEYWARD_URL_ENV);
  const apiKey = given.apiKey ?? fromEnvironment(KEYWARD_API_KEY_ENV);
  if (baseUrl === undefined || apiKey === undefined) {
    const missing = [...(baseUrl === undefined ? [["baseUrl", KEYWARD_URL_ENV]] : []), ...(apiKey === undefined ? [["apiKey", KEYWARD_API_KEY_ENV]] : [])];
    const names = missing.map(([option]) => option).join(" and ");
    const variables = missing.map(([, variable]) => variable).join(" and ");
    throw new TypeError(`${caller} needs ${names}: pass ${missing.length > 1 ? "them" : "it"} in the options, or set ${variables} in the environment`);
  }
  return { baseUrl, apiKey };
}

/**
 * A Keyward client. `baseUrl` and `apiKey` given in `options` win; either one left out is read from
 * `KEYWARD_URL` / `KEYWARD_API_KEY` in the process environment, so `createKeyward()` is enough in a
 * server configured the usual way. Neither given nor set is a `TypeError` naming what to set.
 *
 * @example
 * const keyward = createKeyward(); // KEYWARD_URL and KEYWARD_API_KEY from the environment
 * const verdict = await keyward.verify({ key: presented, apiId: "api_…", permissions: ["orders.read"] });
 * if (verdict.valid) console.log(verdict.identity?.externalId);
 */
export function createKeyward(options: CreateKeywardOptions = {}): KeywardClient {
  return createClient({ ...options, ...located("createKeyward", options) });
}

/**
 * Keyward's event stream (see events.ts), with `baseUrl` and `apiKey` read from `KEYWARD_URL` /
 * `KEYWARD_API_KEY` when left out, as `createKeyward` does.
 *
 * @example
 * const guard = keywardGuard({ client: createKeyward(), events: keywardEvents(), apiId: "api_…" });
 */
export function keywardEvents(options: KeywardEventsOptions = {}): KeywardEventStream {
  return openEvents({ ...options, ...located("keywardEvents", options) });
}
