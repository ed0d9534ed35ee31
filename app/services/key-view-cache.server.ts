import type { KeywardEvent } from "./events.server";

/**
 * Key id → the key's stored row, in process, for `GET /api/v1/me`: a root key asking about
 * itself is answered without a database read while nothing has touched the row since it was read.
 *
 * What can change the row, and drops its entry on every instance through the event bus:
 * a change to the key (`key.changed`), to its owner (`user.changed`: a role change narrows
 * scopes), to its API or identity, and a usage flush that wrote the key's last use and request
 * count (`usage.flushed`, which lists the keys it wrote). So the view is the database's, as
 * exact as the verification cache's record of the same key (ADR 13); the TTL only bounds the
 * life of an entry whose notification was lost. Derived fields (status, credits) are computed
 * from the row at each read, with the clock of that moment.
 */
export class KeyViewCache<Row extends { id: string; ownerId: string; apiId: string | null; identityId: string | null }> {
  /** Map order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, { row: Row; storedAt: number }>();
  /** Bumped by every invalidation, so a read that raced one is not stored (it may have read the old row). */
  private generation = 0;

  constructor(
    private readonly options: { maxEntries: number; ttlMs: number; now?: () => number },
  ) {}

  get size(): number {
    return this.entries.size;
  }

  private now(): number {
    return this.options.now?.() ?? performance.now();
  }

  get(id: string): Row | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    if (this.now() - entry.storedAt >= this.options.ttlMs) return undefined;
    this.entries.set(id, entry);
    return entry.row;
  }

  /** Take this before the read and hand it to `set`. */
  ticket(): number {
    return this.generation;
  }

  set(row: Row, ticket: number): void {
    if (ticket !== this.generation || this.options.ttlMs <= 0 || this.options.maxEntries <= 0) return;
    this.entries.delete(row.id);
    this.entries.set(row.id, { row, storedAt: this.now() });
    if (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  apply(event: KeywardEvent): void {
    if (event.type === "key.changed") this.drop((row) => row.id === event.keyId);
    else if (event.type === "usage.flushed") {
      const ids = new Set(event.keyIds);
      this.drop((row) => ids.has(row.id));
    } else if (event.type === "user.changed") this.drop((row) => row.ownerId === event.userId);
    else if (event.type === "api.changed") this.drop((row) => row.apiId === event.apiId);
    else if (event.type === "identity.changed") this.drop((row) => row.identityId === event.identityId);
  }

  private drop(matches: (row: Row) => boolean): void {
    this.generation++;
    for (const [id, { row }] of this.entries) if (matches(row)) this.entries.delete(id);
  }
}
