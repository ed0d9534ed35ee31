import type { DatabaseHandle } from "../../db/client.server";

export const EVENTS_CHANNEL = "keyward_events";

/** What instances tell each other (and dashboards) through Postgres NOTIFY. Ids only; never a secret. */
export type KeywardEvent =
  | { type: "key.changed"; keyId: string }
  | { type: "user.changed"; userId: string }
  /** An API's vocabulary, implications or archival changed: what its keys verify as may differ. */
  | { type: "api.changed"; apiId: string }
  /** An identity changed (its metadata, or its keys in bulk). */
  | { type: "identity.changed"; identityId: string }
  | { type: "usage.flushed"; keyIds: string[] }
  | { type: "alert.changed"; alertId: string };

type Listener = (event: KeywardEvent) => void;

/**
 * Publishes through NOTIFY and fans each notification out to in-process listeners,
 * so every instance on the same database (this one included) hears every change.
 */
export class EventBus {
  private readonly listeners = new Set<Listener>();
  private unlisten?: () => Promise<void>;

  constructor(private readonly database: Pick<DatabaseHandle, "listen" | "notify">) {}

  async start(): Promise<void> {
    this.unlisten ??= await this.database.listen(EVENTS_CHANNEL, (payload) => {
      let event: KeywardEvent;
      try {
        event = JSON.parse(payload) as KeywardEvent;
      } catch {
        return;
      }
      for (const listener of this.listeners) listener(event);
    });
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async publish(event: KeywardEvent): Promise<void> {
    await this.database.notify(EVENTS_CHANNEL, JSON.stringify(event));
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = undefined;
    this.listeners.clear();
  }
}
