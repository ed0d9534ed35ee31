import { randomBase62 } from "./key-format";

/** Readable, prefixed public ids: `key_…`, `usr_…`. Never secret. */
export const newId = (prefix: "key" | "usr" | "aud" | "sev" | "alr" | "api" | "idt") => `${prefix}_${randomBase62(20)}`;
