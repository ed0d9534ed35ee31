import { rootKeyProblem } from "./key-format";
import type { FetchLike } from "./transport";

/**
 * What Keyward announces on `GET /api/v1/events` (ids only, never a secret). Types not known to
 * this version of the SDK arrive as they are, so a newer server never breaks an older client.
 */
export type KeywardEvent =
  | { type: "key.changed"; keyId: string }
  | { type: "user.changed"; userId: string }
  /** An API's vocabulary, implications or archival changed: what its keys verify as may differ. */
  | { type: "api.changed"; apiId: string }
  /** An identity changed (its metadata, or its keys in bulk). */
  | { type: "identity.changed"; identityId: string }
  | { type: "usage.flushed"; keyIds: string[] }
  | { type: string; [field: string]: unknown };

export type EventStreamState = "connecting" | "open" | "closed";

export interface EventStreamOptions {
  /** Where Keyward is served, e.g. `https://keys.example.com`. */
  baseUrl: string;
  /** A root key (`kw_…`) with the `read` scope; the stream carries events about the keys its owner may read. */
  apiKey: string;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
  /** First wait before reconnecting after the stream ends or fails; doubles up to `maxReconnectMs`, with jitter. @default 500 */
  initialReconnectMs?: number;
  /** @default 15_000 */
  maxReconnectMs?: number;
  /** Closes the stream for good. */
  signal?: AbortSignal;
}

export interface KeywardEventStream {
  /** Calls `listener` for every event; returns the unsubscribe function. */
  subscribe(listener: (event: KeywardEvent) => void): () => void;
  /**
   * Calls `listener` each time the stream is (re)opened. After a reconnect, events sent while it
   * was down are lost: whoever caches must treat a reconnect as "anything may have changed".
   */
  onOpen(listener: (info: { reconnected: boolean }) => void): () => void;
  /** Called with what went wrong each time the connection fails (it is retried). */
  onError(listener: (error: Error) => void): () => void;
  readonly state: EventStreamState;
  /** Ends the stream and stops reconnecting. */
  close(): void;
}

/**
 * Follows Keyward's event stream (Server-Sent Events over fetch, so it runs on Node, Deno, Bun and
 * edge runtimes alike), reconnecting with backoff until closed. The key goes in the Authorization
 * header, never the URL. A refused key (401/403) stops the stream: retrying would not help.
 *
 * @example
 * const events = keywardEvents({ baseUrl, apiKey });
 * const guard = keywardGuard({ client, events }); // revocations drop cached verifications at once
 */
export function keywardEvents(options: EventStreamOptions): KeywardEventStream {
  const keyProblem = rootKeyProblem(options.apiKey);
  if (keyProblem !== null) throw new TypeError(keyProblem);
  const url = `${options.baseUrl.replace(/\/+$/, "")}/api/v1/events`;
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const initialMs = options.initialReconnectMs ?? 500;
  const maxMs = options.maxReconnectMs ?? 15_000;
  const listeners = new Set<(event: KeywardEvent) => void>();
  const openListeners = new Set<(info: { reconnected: boolean }) => void>();
  const errorListeners = new Set<(error: Error) => void>();
  const controller = new AbortController();
  let state: EventStreamState = "connecting";

  const close = () => {
    state = "closed";
    controller.abort();
  };
  options.signal?.addEventListener("abort", close, { once: true });
  if (options.signal?.aborted) close();

  const fail = (error: Error) => {
    for (const listener of errorListeners) listener(error);
  };

  async function run(): Promise<void> {
    let opened = 0;
    let failures = 0;
    while (!controller.signal.aborted) {
      state = "connecting";
      try {
        const response = await fetchImpl(url, {
          headers: { Authorization: `Bearer ${options.apiKey}`, Accept: "text/event-stream" },
          signal: controller.signal,
        });
        if (response.status === 401 || response.status === 403) {
          fail(new Error(`Keyward refused the event stream's key (${response.status}); the stream is closed`));
          close();
          return;
        }
        if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
        state = "open";
        failures = 0;
        for (const listener of openListeners) listener({ reconnected: opened++ > 0 });
        for await (const data of messages(response.body)) {
          let event: KeywardEvent;
          try {
            event = JSON.parse(data) as KeywardEvent;
          } catch {
            continue;
          }
          if (typeof event?.type === "string") for (const listener of listeners) listener(event);
        }
        if (!controller.signal.aborted) fail(new Error("event stream ended; reconnecting"));
      } catch (error) {
        if (controller.signal.aborted) return;
        fail(error instanceof Error ? error : new Error(String(error)));
      }
      const wait = Math.min(maxMs, initialMs * 2 ** failures++);
      await sleep(wait / 2 + Math.random() * (wait / 2), controller.signal);
    }
  }
  void run();

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onOpen(listener) {
      openListeners.add(listener);
      return () => openListeners.delete(listener);
    },
    onError(listener) {
      errorListeners.add(listener);
      return () => errorListeners.delete(listener);
    },
    get state() {
      return state;
    },
    close,
  };
}

/** The `data` of each SSE message (multi-line data joined by newlines); comments and other fields are skipped. */
async function* messages(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        if (line === "") {
          if (data.length > 0) yield data.join("\n");
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
