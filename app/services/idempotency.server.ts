import crypto from "node:crypto";
import { and, eq, lt, or } from "drizzle-orm";
import type { Database } from "../../db/client.server";
import { idempotencyKeys } from "../../db/schema";
import type { Clock } from "./clock.server";
import { KeywardError } from "./errors.server";
import { decryptKey, encryptKey } from "./secrets.server";

/**
 * Idempotency keys with Stripe's semantics (docs/decisions/0023-idempotency-keys.md): the first
 * result a caller got for a key is replayed to that caller for the same request; the same key with
 * another request is refused (422 `idempotency_key_reused`); a duplicate while the first is still
 * running is refused (409 `idempotency_key_in_use`). The row is inserted `in_flight` before the
 * work, in its own statement, so instances sharing one database agree on who runs it.
 */

/** How long a result is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** How long an `in_flight` row blocks its key; after that its instance is presumed dead and the key is free again. */
export const IDEMPOTENCY_LOCK_MS = 60 * 1000;
/** 1–255 printable ASCII characters (space to tilde). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

export interface StoredResult {
  status: number;
  /** The response body as sent (JSON text). */
  body: string;
}

/** The caller owns the key's first run: do the work, then `complete` or `abandon` this lease. */
export interface IdempotencyLease {
  caller: string;
  key: string;
  /** Identifies this run's claim, so a run that outlived its lock cannot overwrite its successor's. */
  lockedUntil: Date;
}

export type IdempotencyClaim = { kind: "run"; lease: IdempotencyLease } | { kind: "replay"; result: StoredResult };

/** Checks an Idempotency-Key header value; a malformed one is a 400 with a stable code. */
export function checkIdempotencyKey(value: string): string {
  if (!IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw new KeywardError("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters", { field: "Idempotency-Key" });
  }
  return value;
}

/** JSON with object members in code-point order at every depth, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are one request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** SHA-256 (hex) of the method, the path and the body: what "the same request" means. */
export function requestFingerprint(method: string, path: string, body: string): string {
  return crypto.createHash("sha256").update(`${method.toUpperCase()}\n${path}\n${body}`).digest("hex");
}

export interface IdempotencyDeps {
  db: Database;
  clock: Clock;
  encryptionKey: Buffer;
}

export class IdempotencyStore {
  private lastPurge = 0;

  constructor(private readonly deps: IdempotencyDeps) {}

  /**
   * Claims (caller, key) for a request with this fingerprint. A new key, an expired row or an
   * abandoned `in_flight` one is (re)claimed by one upsert; otherwise the stored row decides:
   * another fingerprint → `idempotency_key_reused`, still running → `idempotency_key_in_use`,
   * done → the stored result.
   */
  async claim(caller: string, key: string, fingerprint: string): Promise<IdempotencyClaim> {
    const { db, clock } = this.deps;
    const now = clock.now();
    await this.purgeExpired(now);
    const lockedUntil = new Date(now.getTime() + IDEMPOTENCY_LOCK_MS);
    const expiresAt = new Date(now.getTime() + IDEMPOTENCY_TTL_MS);
    const fresh = { caller, key, requestHash: fingerprint, state: "in_flight" as const, responseStatus: null, responseBody: null, createdAt: now, lockedUntil, expiresAt };
    const claimed = await db
      .insert(idempotencyKeys)
      .values(fresh)
      .onConflictDoUpdate({
        target: [idempotencyKeys.caller, idempotencyKeys.key],
        set: { requestHash: fingerprint, state: "in_flight", responseStatus: null, responseBody: null, createdAt: now, lockedUntil, expiresAt },
        setWhere: or(lt(idempotencyKeys.expiresAt, now), and(eq(idempotencyKeys.state, "in_flight"), lt(idempotencyKeys.lockedUntil, now))),
      })
      .returning({ caller: idempotencyKeys.caller });
    if (claimed.length > 0) return { kind: "run", lease: { caller, key, lockedUntil } };

    const [row] = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.caller, caller), eq(idempotencyKeys.key, key)));
    // Gone between the two statements (its run failed and released it): the caller may simply retry.
    if (!row) throw inUse();
    if (row.requestHash !== fingerprint) {
      throw new KeywardError("idempotency_key_reused", "This Idempotency-Key was already used for a different request (method, path or body); use a new key for a new request", { field: "Idempotency-Key" });
    }
    if (row.state !== "done" || row.responseStatus === null || row.responseBody === null) throw inUse();
    return { kind: "replay", result: { status: row.responseStatus, body: decryptKey(row.responseBody, aad(caller, key), this.deps.encryptionKey) } };
  }

  /** Stores the first result (encrypted: it may hold a new key's plaintext) for 24 hours. */
  async complete(lease: IdempotencyLease, result: StoredResult): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.db
      .update(idempotencyKeys)
      .set({ state: "done", responseStatus: result.status, responseBody: encryptKey(result.body, aad(lease.caller, lease.key), this.deps.encryptionKey), expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS) })
      .where(mine(lease));
  }

  /** Releases a claim whose run failed without a result worth keeping (5xx): the client may retry with the same key. */
  async abandon(lease: IdempotencyLease): Promise<void> {
    await this.deps.db.delete(idempotencyKeys).where(mine(lease));
  }

  /** Runs `work` at most once per (caller, key, fingerprint); which results are kept is `keep`'s call. */
  async run(caller: string, key: string, fingerprint: string, work: () => Promise<StoredResult>, keep: (result: StoredResult) => boolean = storable): Promise<StoredResult & { replayed: boolean }> {
    const claim = await this.claim(caller, key, fingerprint);
    if (claim.kind === "replay") return { ...claim.result, replayed: true };
    let result: StoredResult;
    try {
      result = await work();
    } catch (error) {
      await this.abandon(claim.lease).catch(() => undefined);
      throw error;
    }
    if (keep(result)) await this.complete(claim.lease, result);
    else await this.abandon(claim.lease);
    return { ...result, replayed: false };
  }

  /** Expired rows go lazily, at most once a minute per instance (a claim of an expired key also overwrites it). */
  private async purgeExpired(now: Date): Promise<void> {
    if (now.getTime() - this.lastPurge < 60_000) return;
    this.lastPurge = now.getTime();
    await this.deps.db.delete(idempotencyKeys).where(lt(idempotencyKeys.expiresAt, now));
  }
}

/** 2xx and 4xx results are the request's answer and are kept; a 5xx is not (the client may retry). */
export const storable = ({ status }: StoredResult) => status >= 200 && status < 500;

const inUse = () => new KeywardError("idempotency_key_in_use", "A request with this Idempotency-Key is still being processed; retry shortly");

/** The ciphertext is bound to its row: it cannot be replayed under another caller or key. */
const aad = (caller: string, key: string) => `idempotency\n${caller}\n${key}`;

const mine = (lease: IdempotencyLease) =>
  and(eq(idempotencyKeys.caller, lease.caller), eq(idempotencyKeys.key, lease.key), eq(idempotencyKeys.state, "in_flight"), eq(idempotencyKeys.lockedUntil, lease.lockedUntil));

/** The caller an idempotency key belongs to: the user, whichever of their keys or sessions sends it. */
export const idempotencyCaller = (userId: string) => `user:${userId}`;
