import { describe, expect, it } from "vitest";
import { isRelevant, reconnectDelay } from "../lib/use-live-events";
import { checkAllowlist } from "./allowlist-input";
import { formatCountdown } from "./countdown";

describe("allowlist checked as it is typed", () => {
  it("normalizes good entries, drops blanks and duplicates, and names each bad line", () => {
    expect(checkAllowlist("127.0.0.1\n\n  10.0.0.0/8 \n127.0.0.1\n2001:DB8::/32")).toEqual({ entries: ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"], problems: [] });
    expect(checkAllowlist("127.0.0.1\n10.0.0.1/8\nnot-an-ip\n1.2.3.4/33").problems).toEqual([
      'Line 2: "10.0.0.1/8" has host bits set; the network is 10.0.0.0/8',
      'Line 3: "not-an-ip" is not an IPv4 or IPv6 address',
      'Line 4: "/33" is not a prefix length for IPv4 (0–32)',
    ]);
    expect(checkAllowlist("")).toEqual({ entries: [], problems: [] });
  });
});

describe("countdown text", () => {
  it("shows minutes, hours and days, and stops at zero", () => {
    expect(formatCountdown(59 * 60_000 + 1500)).toBe("59:02");
    expect(formatCountdown(3600_000)).toBe("1:00:00");
    expect(formatCountdown(2 * 86_400_000 + 3 * 3600_000 + 4 * 60_000 + 5000)).toBe("2d 03:04:05");
    expect(formatCountdown(-1)).toBe("0:00");
  });
});

describe("live updates", () => {
  const key = "key_AAAAAAAAAAAAAAAAAAAA";
  const other = "key_BBBBBBBBBBBBBBBBBBBB";

  it("a key's page follows only that key", () => {
    expect(isRelevant({ type: "key.changed", keyId: key }, `/keys/${key}`)).toBe(true);
    expect(isRelevant({ type: "key.changed", keyId: other }, `/keys/${key}`)).toBe(false);
    expect(isRelevant({ type: "usage.flushed", keyIds: [other, key] }, `/keys/${key}`)).toBe(true);
    expect(isRelevant({ type: "usage.flushed", keyIds: [other] }, `/keys/${key}`)).toBe(false);
    expect(isRelevant({ type: "alert.changed", alertId: "alr_1" }, `/keys/${key}`)).toBe(false);
  });

  it("the overview follows everything; other pages skip usage flushes but not unknown event types", () => {
    expect(isRelevant({ type: "usage.flushed", keyIds: [key] }, "/overview")).toBe(true);
    expect(isRelevant({ type: "usage.flushed", keyIds: [key] }, "/users")).toBe(false);
    // The API and identity pages chart their keys' verifications.
    expect(isRelevant({ type: "usage.flushed", keyIds: [key] }, "/apis/api_AAAAAAAAAAAAAAAAAAAA")).toBe(true);
    expect(isRelevant({ type: "usage.flushed", keyIds: [key] }, "/identities/idt_AAAAAAAAAAAAAAAAAAAA")).toBe(true);
    expect(isRelevant({ type: "usage.flushed", keyIds: [key] }, "/apis")).toBe(false);
    expect(isRelevant({ type: "alert.changed", alertId: "alr_1" }, "/security")).toBe(true);
    expect(isRelevant({ type: "something.new" }, "/audit")).toBe(true);
    expect(isRelevant({ type: "user.changed", userId: "usr_1" }, `/keys/${key}`)).toBe(true);
  });

  it("reconnects with growing, capped, jittered delays", () => {
    expect(reconnectDelay(0, () => 0)).toBe(1000);
    expect(reconnectDelay(3, () => 0)).toBe(8000);
    expect(reconnectDelay(10, () => 0)).toBe(30_000);
    expect(reconnectDelay(10, () => 1)).toBe(37_500);
  });
});
