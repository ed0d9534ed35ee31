import { eq, inArray } from "drizzle-orm";
import type { Database } from "../../db/client.server";
import { apiKeys, apis, identities } from "../../db/schema";
import { logger } from "../lib/logger.server";
import type { EventBus, KeywardEvent } from "./events.server";

/**
 * Live updates for dashboards (session) and SDKs (key): which bus events a subscriber may see, the
 * Server-Sent Events stream that carries them, and its limits (streams open per key or user, and
 * age). Events hold ids only, never a secret.
 */

/** Any bus event: the known ones, and those added later (e.g. `alert.changed`), which pass to admins only. */
export type LiveEvent = KeywardEvent | { type: string; [field: string]: unknown };

/** Who is listening: admins see everything; anyone else sees events about their own keys and themselves. */
export interface Audience {
  userId: string;
  admin: boolean;
}

export interface LiveFeedDeps {
  events: Pick<EventBus, "subscribe">;
  db: Database;
  /** Key → owner entries kept (owners never change, so entries never go stale). @default 50_000 */
  maxCachedOwners?: number;
}

/**
 * Fans bus events out to subscribers, filtered per audience. A key's owner is looked up once per
 * process (a key never changes owner) and shared by every subscriber, so a busy bus costs at most
 * one indexed query per unseen key id, not one per connection.
 */
export class LiveFeed {
  private readonly owners = new Map<string, string | null>();
  private readonly apiOwners = new Map<string, string | null>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly deps: LiveFeedDeps) {}

  /** Calls `send` with each event the audience may see, in bus order; returns the unsubscribe function. */
  subscribe(audience: Audience, send: (event: LiveEvent) => void): () => void {
    // Ownership lookups are async: chain deliveries so events never overtake each other.
    let queue: Promise<void> = Promise.resolve();
    let active = true;
    const unsubscribe = this.deps.events.subscribe((event) => {
      queue = queue
        .then(() => this.visible(audience, event as LiveEvent))
        .then((visible) => {
          if (active && visible) send(visible);
        })
        .catch((error: unknown) => logger.error({ err: error }, "Live feed: could not filter an event"));
    });
    return () => {
      active = false;
      unsubscribe();
    };
  }

  /** The event as this audience may see it (usage narrowed to their keys), or null. */
  async visible(audience: Audience, event: LiveEvent): Promise<LiveEvent | null> {
    if (audience.admin) return event;
    switch (event.type) {
      case "key.changed": {
        const { keyId } = event as Extract<KeywardEvent, { type: "key.changed" }>;
        await this.loadOwners([keyId]);
        return this.owners.get(keyId) === audience.userId ? event : null;
      }
      case "usage.flushed": {
        const { keyIds } = event as Extract<KeywardEvent, { type: "usage.flushed" }>;
        if (!Array.isArray(keyIds)) return null;
        await this.loadOwners(keyIds);
        const own = keyIds.filter((id) => this.owners.get(id) === audience.userId);
        return own.length > 0 ? { type: "usage.flushed", keyIds: own } : null;
      }
      case "user.changed":
        return (event as Extract<KeywardEvent, { type: "user.changed" }>).userId === audience.userId ? event : null;
      case "api.changed": {
        const { apiId } = event as Extract<KeywardEvent, { type: "api.changed" }>;
        return (await this.apiOwner(apiId)) === audience.userId ? event : null;
      }
      case "identity.changed": {
        const { identityId } = event as Extract<KeywardEvent, { type: "identity.changed" }>;
        return (await this.identityOwner(identityId)) === audience.userId ? event : null;
      }
      default:
        // Alerts and any event type this code does not know yet: admins only.
        return null;
    }
  }

  /** An API's owner (APIs never change owner; rare events, so one small query each, remembered). */
  private async apiOwner(apiId: unknown): Promise<string | null> {
    if (typeof apiId !== "string") return null;
    if (!this.apiOwners.has(apiId)) {
      const [row] = await this.deps.db.select({ ownerId: apis.ownerId }).from(apis).where(eq(apis.id, apiId));
      this.apiOwners.set(apiId, row?.ownerId ?? null);
    }
    return this.apiOwners.get(apiId) ?? null;
  }

  /** An identity's owner: its API's. */
  private async identityOwner(identityId: unknown): Promise<string | null> {
    if (typeof identityId !== "string") return null;
    const [row] = await this.deps.db.select({ apiId: identities.apiId }).from(identities).where(eq(identities.id, identityId));
    return row ? this.apiOwner(row.apiId) : null;
  }

  private async loadOwners(keyIds: readonly string[]): Promise<void> {
    const missing = [...new Set(keyIds)].filter((id) => typeof id === "string" && !this.owners.has(id));
    const waits = missing.flatMap((id) => (this.pending.has(id) ? [this.pending.get(id)!] : []));
    const unseen = missing.filter((id) => !this.pending.has(id));
    if (unseen.length > 0) {
      const lookup = this.lookup(unseen);
      for (const id of unseen) this.pending.set(id, lookup);
      waits.push(lookup);
    }
    await Promise.all(waits);
  }

  private async lookup(keyIds: string[]): Promise<void> {
    try {
      const rows = await this.deps.db.select({ id: apiKeys.id, ownerId: apiKeys.ownerId }).from(apiKeys).where(inArray(apiKeys.id, keyIds));
      const found = new Map(rows.map((row) => [row.id, row.ownerId]));
      const max = this.deps.maxCachedOwners ?? 50_000;
      for (const id of keyIds) {
        const owner = found.get(id);
        // A key not found yet may be inserted later by another instance: remember only real owners.
        if (owner === undefined) continue;
        if (this.owners.size >= max) this.owners.delete(this.owners.keys().next().value!);
        this.owners.set(id, owner);
      }
    } finally {
      for (const id of keyIds) this.pending.delete(id);
    }
  }
}

export const HEARTBEAT_MS = 15_000;

export interface EventStreamOptions {
  feed: LiveFeed;
  audience: Audience;
  /** Ends the stream when the client goes away. */
  signal: AbortSignal;
  /** @default 15 000 */
  heartbeatMs?: number;
  /**
   * The stream is ended (with a reconnect hint) at a random moment between 90 % and 100 % of this
   * age, so the client comes back and is authenticated again, and streams opened together (after a
   * restart) do not all return together. Unset: no age limit.
   */
  maxAgeMs?: number;
  /**
   * Checked on every heartbeat: false ends the stream (the session ended, the key was revoked…).
   * The client reconnects and is authenticated again.
   */
  stillAllowed?: () => Promise<boolean>;
  /** Called for each event after it was sent; true ends the stream (the user's own role changed, the key was revoked…). */
  endsAfter?: (event: LiveEvent) => boolean | Promise<boolean>;
  /** Called exactly once when the stream ends, whatever ended it (client gone, server end, error, shutdown). */
  onEnd?: () => void;
}

const encoder = new TextEncoder();

const EVENT_STREAM_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  Connection: "keep-alive",
  "X-Accel-Buffering": "no",
};

/** How soon an EventSource should come back after a stream reaches its maximum age. */
const RECONNECT_AFTER_MAX_AGE_MS = 1000;

/**
 * A `text/event-stream` response: each visible event as an unnamed message whose data is the event's
 * JSON (so a client handles types it does not know yet), a comment every heartbeat so proxies keep
 * the connection open, and nothing buffered on the way (`X-Accel-Buffering: no`).
 */
export function eventStreamResponse({ feed, audience, signal, heartbeatMs = HEARTBEAT_MS, maxAgeMs, stillAllowed, endsAfter, onEnd }: EventStreamOptions): Response {
  let cleanup = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      let unsubscribe = () => {};
      let heartbeat: ReturnType<typeof setInterval> | undefined;
      let retirement: ReturnType<typeof setTimeout> | undefined;
      const write = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          close();
        }
      };
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        clearTimeout(retirement);
        unsubscribe();
        signal.removeEventListener("abort", close);
        try {
          controller.close();
        } catch {
          // Already closed by the client.
        }
        onEnd?.();
      };
      cleanup = close;
      const check = async () => {
        if (closed || !stillAllowed) return;
        try {
          if (!(await stillAllowed())) close();
        } catch (error) {
          logger.error({ err: error }, "Live stream: could not re-check access; closing");
          close();
        }
      };
      if (signal.aborted) return close();
      try {
        unsubscribe = feed.subscribe(audience, (event) => {
          write(`data: ${JSON.stringify(event)}\n\n`);
          if (!endsAfter) return;
          Promise.resolve(endsAfter(event)).then(
            (ends) => ends && close(),
            (error: unknown) => {
              logger.error({ err: error }, "Live stream: could not re-check access; closing");
              close();
            },
          );
        });
        heartbeat = setInterval(() => {
          write(`: heartbeat ${Date.now()}\n\n`);
          void check();
        }, heartbeatMs);
        heartbeat.unref?.();
        if (maxAgeMs !== undefined) {
          retirement = setTimeout(
            () => {
              write(`retry: ${RECONNECT_AFTER_MAX_AGE_MS}\n: maximum age reached; reconnect\n\n`);
              close();
            },
            maxAgeMs * (0.9 + 0.1 * Math.random()),
          );
          retirement.unref?.();
        }
        signal.addEventListener("abort", close, { once: true });
        // Tell EventSource how soon to come back after a drop, and open the stream at once.
        write(`retry: 2000\n: connected\n\n`);
        write(`event: ready\ndata: {}\n\n`);
      } catch (error) {
        close();
        throw error;
      }
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(body, { status: 200, headers: EVENT_STREAM_HEADERS });
}

/**
 * How many event streams each holder (a key, or a signed-in user) has open. In memory, so each
 * instance counts its own: behind several instances a holder may open the maximum on each.
 */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Takes one of `holder`'s slots, or null when all are taken; the release gives it back once, however often it is called. */
  take(holder: string): (() => void) | null {
    const count = this.count(holder);
    if (count >= this.max) return null;
    this.open.set(holder, count + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = this.count(holder) - 1;
      if (left > 0) this.open.set(holder, left);
      else this.open.delete(holder);
    };
  }

  /** The streams `holder` has open now. */
  count(holder: string): number {
    return this.open.get(holder) ?? 0;
  }
}

/** What a client told "too many streams" should wait before trying again: a slot frees as soon as one of its streams ends. */
export const STREAMS_FULL_RETRY_AFTER_SECONDS = 10;

/** The process's live feed, and the limits on the streams that carry it (count per holder, age). */
export class LiveStreams {
  readonly slots: StreamSlots;

  constructor(
    readonly feed: LiveFeed,
    private readonly limits: { maxOpen: number; maxAgeMs: number },
  ) {
    this.slots = new StreamSlots(limits.maxOpen);
  }

  /**
   * An event stream counted against `holder` (a key's id, or a user's), or null when it already has
   * the maximum open here. HEAD gets the headers alone and takes no slot: its body would never be
   * read, so nothing would ever end it.
   */
  open(holder: string, request: Request, options: Pick<EventStreamOptions, "audience" | "stillAllowed" | "endsAfter">): Response | null {
    if (request.method === "HEAD") return new Response(null, { status: 200, headers: EVENT_STREAM_HEADERS });
    const release = this.slots.take(holder);
    if (!release) return null;
    return eventStreamResponse({ ...options, feed: this.feed, signal: request.signal, maxAgeMs: this.limits.maxAgeMs, onEnd: release });
  }
}
