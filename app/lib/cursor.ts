import { and, eq, gt, lt, or, type AnyColumn, type SQL } from "drizzle-orm";
import { z } from "zod";
import { KeywardError } from "../services/errors.server";
import { isWithinDateRange } from "./dates";

/**
 * Keyset cursors: the sort key of a page's last row, as opaque base64url JSON. A cursor that does not
 * decode, or whose date lies outside the accepted range (no row of ours can carry one, and the
 * database cannot compare with some), is the caller's mistake (400 validation_failed), never a 500.
 */
/** One page of a list. `hasMore` is true exactly when `nextCursor` is not null (there is a next page). */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
  hasMore: boolean;
}

export function pageOf<T>(data: T[], nextCursor: string | null): Page<T> {
  return { data, nextCursor, hasMore: nextCursor !== null };
}

export function encodeCursor(at: Date, id: string | number): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString("base64url");
}

export function decodeCursor<Id extends "string" | "number">(cursor: string, idType: Id): { at: Date; id: Id extends "string" ? string : number } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, unknown];
    const date = new Date(at);
    const idValid = idType === "number" ? Number.isSafeInteger(id) : typeof id === "string";
    if (!idValid || !isWithinDateRange(date)) throw new Error("bad cursor");
    return { at: date, id: id as Id extends "string" ? string : number };
  } catch {
    throw new KeywardError("validation_failed", "The cursor is not one this API returned", { field: "cursor" });
  }
}

/**
 * The keyset condition every paged list shares: the rows after the cursor's row in (time, id)
 * order, newest first unless `order` is "asc". A cursor that does not decode is refused as above.
 */
export function afterCursor(cursor: string, idType: "string" | "number", time: AnyColumn, id: AnyColumn, order: "asc" | "desc" = "desc"): SQL {
  const after = decodeCursor(cursor, idType);
  const beyond = order === "desc" ? lt : gt;
  return or(beyond(time, after.at), and(eq(time, after.at), beyond(id, after.id)))!;
}

/**
 * A page's `cursor` URL parameter: one the API could have returned, else none, so an edited or
 * stale link shows the first page instead of failing the page.
 */
export function pageCursorParam(idType: "string" | "number") {
  return z
    .string()
    .max(200)
    .refine((cursor) => {
      try {
        decodeCursor(cursor, idType);
        return true;
      } catch {
        return false;
      }
    })
    .optional()
    .catch(undefined);
}
