import { and, sql, type SQL } from "drizzle-orm";
import type { Database } from "../../db/client.server";
import { apiKeys } from "../../db/schema";

/**
 * The credit balance of issued keys, kept in the key's row and changed only by single statements,
 * so Postgres row locking makes every charge exact across requests and instances (see
 * docs/decisions/0019-credits.md). The refill schedule (app/lib/credits.ts) is applied lazily,
 * inside the same statement: a key nobody verified answers as if it had been refilled on time.
 */

/** `now` as a UTC wall-clock timestamp, the calendar refills follow. */
const utc = (now: Date): SQL => sql`(${now.toISOString()}::timestamptz at time zone 'UTC')`;

/** 00:00 of the key's refill day in the month starting at `monthStart`, clamped to that month's last day. */
function refillDayOf(monthStart: SQL): SQL {
  const day = sql`coalesce((${apiKeys.creditsRefill}->>'refillDay')::int, 1)`;
  const lastDay = sql`extract(day from ${monthStart} + interval '1 month' - interval '1 day')::int`;
  return sql`(${monthStart} + (least(${day}, ${lastDay}) - 1) * interval '1 day')`;
}

/** The latest refill time at or before `now` (as timestamptz), per the row's `credits_refill`. */
function lastRefillAt(now: Date): SQL {
  const thisMonth = refillDayOf(sql`date_trunc('month', ${utc(now)})`);
  const lastMonth = refillDayOf(sql`(date_trunc('month', ${utc(now)}) - interval '1 month')`);
  const monthly = sql`case when ${thisMonth} <= ${utc(now)} then ${thisMonth} else ${lastMonth} end`;
  return sql`((case when ${apiKeys.creditsRefill}->>'interval' = 'daily' then date_trunc('day', ${utc(now)}) else ${monthly} end) at time zone 'UTC')`;
}

/** Whether a refill fell due since the last one. */
function refillDue(now: Date): SQL {
  return sql`(${apiKeys.creditsRefill} is not null and coalesce(${apiKeys.creditsRefilledAt}, '-infinity'::timestamptz) < ${lastRefillAt(now)})`;
}

/** The balance at `now`: the refill amount when a refill is due, else what is stored (null = unlimited); for a select or update of api_keys. */
export function balanceAt(now: Date): SQL<number | null> {
  return sql<number | null>`(case when ${refillDue(now)} then (${apiKeys.creditsRefill}->>'amount')::bigint else ${apiKeys.creditsRemaining} end)`;
}

/** Sets a key's refill time to `now` when a refill was due, so the refilled balance is not refilled twice. */
function refilledAtAfter(now: Date): SQL {
  return sql`case when ${refillDue(now)} then ${now.toISOString()}::timestamptz else ${apiKeys.creditsRefilledAt} end`;
}

/**
 * The column values that add `amount` to a key's balance as it stands at `now` (a due refill
 * applied first), for an UPDATE of that key: one statement, so no concurrent charge is lost.
 */
export function addedCredits(amount: number, now: Date): { creditsRemaining: SQL; creditsRefilledAt: SQL } {
  return { creditsRemaining: sql`${balanceAt(now)} + ${amount}`, creditsRefilledAt: refilledAtAfter(now) };
}

/**
 * The key whose balance `keyId` spends: itself, or, for a rotated key in its grace period, the
 * successor its `credits_key_id` names (the pool both keys share, docs/decisions/0019-credits.md).
 */
const creditsHolder = (keyId: string): SQL => sql`coalesce((select k.credits_key_id from api_keys k where k.id = ${keyId}), ${keyId})`;

/** How many times a charge follows its pool to a successor that a rotation moved it to meanwhile. */
const MAX_CHARGE_ATTEMPTS = 3;

/** What a charge did: `charged` false = fewer than `cost` remained and nothing was taken; remaining null = the key has no credits (unlimited). */
export type CreditCharge = { charged: true; remaining: number | null } | { charged: false; remaining: number };

interface PendingCharge {
  cost: number;
  now: Date;
  resolve(charge: CreditCharge): void;
  reject(error: unknown): void;
}

export class CreditLedger {
  /** Charges waiting for the end of this turn of the event loop, per key. */
  private readonly pending = new Map<string, PendingCharge[]>();

  constructor(private readonly deps: { db: Database }) {}

  /**
   * Takes `cost` credits from the key's pool, refilling first when a refill is due. The charges of
   * one key that arrive within one turn of the event loop are settled together: one statement takes
   * their total when the balance covers it, and each charge is answered with the balance it left, in
   * arrival order — what one statement each would have answered, for one round trip (and one row
   * lock) per batch. When the balance does not cover the whole batch, its charges are made one by
   * one, so each gets exactly the answer it would have had alone.
   */
  charge(keyId: string, cost: number, now: Date): Promise<CreditCharge> {
    return new Promise((resolve, reject) => {
      let batch = this.pending.get(keyId);
      if (!batch) {
        batch = [];
        this.pending.set(keyId, batch);
        setImmediate(() => void this.settle(keyId));
      }
      batch.push({ cost, now, resolve, reject });
    });
  }

  private async settle(keyId: string): Promise<void> {
    const batch = this.pending.get(keyId)!;
    this.pending.delete(keyId);
    try {
      if (batch.length > 1) {
        const total = batch.reduce((sum, charge) => sum + charge.cost, 0);
        const latest = batch.reduce((at, charge) => (charge.now > at ? charge.now : at), batch[0]!.now);
        const remaining = await this.take(keyId, total, latest);
        if (remaining !== undefined) {
          let left = remaining === null ? null : remaining + total;
          for (const charge of batch) {
            if (left !== null) left -= charge.cost;
            charge.resolve({ charged: true, remaining: left });
          }
          return;
        }
      }
      for (const charge of batch) charge.resolve(await this.chargeOne(keyId, charge.cost, charge.now));
    } catch (error) {
      for (const charge of batch) charge.reject(error);
    }
  }

  /**
   * One charge on its own: taken, or refused with the balance that was too small. A rotation that
   * moves the pool to a successor while a charge waits leaves the old row without a balance: the
   * charge finds no row, sees the balance now lives elsewhere, and charges it there.
   */
  private async chargeOne(keyId: string, cost: number, now: Date): Promise<CreditCharge> {
    let balance: number | null = null;
    for (let attempt = 0; attempt < MAX_CHARGE_ATTEMPTS; attempt++) {
      const remaining = await this.take(keyId, cost, now);
      if (remaining !== undefined) return { charged: true, remaining };
      // No row: too few credits, the credits were removed since the key was cached (then nothing
      // limits it), or a rotation moved them while this charge waited (then they suffice elsewhere).
      balance = await this.balance(keyId, now);
      if (balance === null) return { charged: true, remaining: null };
      if (balance < cost) return { charged: false, remaining: balance };
    }
    return { charged: false, remaining: balance ?? 0 };
  }

  /**
   * Takes `cost` credits from the key's pool in one statement when the balance covers them; the
   * balance left, or undefined when nothing was taken. The row lock serialises concurrent takes:
   * each sees the balance the previous one left.
   */
  private async take(keyId: string, cost: number, now: Date): Promise<number | undefined> {
    const balance = balanceAt(now);
    const [row] = await this.deps.db
      .update(apiKeys)
      .set({
        creditsRemaining: sql`${balance} - ${cost}`,
        creditsRefilledAt: refilledAtAfter(now),
      })
      .where(and(sql`${apiKeys.id} = ${creditsHolder(keyId)}`, sql`${balance} >= ${cost}`))
      .returning({ remaining: apiKeys.creditsRemaining });
    return row ? (row.remaining as number) : undefined;
  }

  /** The balance of the key's pool at `now` without taking anything (null = unlimited, or no such key). */
  async balance(keyId: string, now: Date): Promise<number | null> {
    const [row] = await this.deps.db
      .select({ remaining: balanceAt(now).mapWith(Number) })
      .from(apiKeys)
      .where(sql`${apiKeys.id} = ${creditsHolder(keyId)}`);
    return row?.remaining ?? null;
  }
}
