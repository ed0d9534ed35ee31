import { and, eq, ne } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { alerts, auditEvents } from "../../db/schema";
import type { Actor } from "../../app/services/actor.server";
import { DEFAULT_ALERT_RULES, type AlertView } from "../../app/services/alerts.server";
import { ManualClock } from "../../app/services/clock.server";
import type { KeywardEvent } from "../../app/services/events.server";
import type { SecurityEventInput } from "../../app/services/security-events.server";
import { createCaller } from "../../app/trpc/root.server";
import { createUser, system, TEST_PASSWORD, testKeyward, type TestKeyward } from "../support/keyward";
import { expectEvery } from "../support/expect";

const clock = new ManualClock(new Date("2026-11-25T09:00:00Z"));
let kw: TestKeyward;
type User = Awaited<ReturnType<typeof createUser>>;
let admin: User;
let member: User;
let other: User;
let memberKeyId: string;
let otherKeyId: string;
let ipCounter = 0;

beforeAll(async () => {
  kw = await testKeyward({ clock });
  admin = await createUser(kw, "admin");
  member = await createUser(kw, "member");
  other = await createUser(kw, "member");
  memberKeyId = (await kw.keys.create(member.actor, { name: "member key", scopes: ["read"] })).apiKey.id;
  otherKeyId = (await kw.keys.create(other.actor, { name: "other key", scopes: ["read"] })).apiKey.id;
});

afterAll(async () => {
  await kw?.dispose();
});

beforeEach(() => {
  // Each test starts a fresh minute far from the others, so no window reaches back into another test.
  clock.advance(24 * 3_600_000);
  clock.set(new Date(Math.floor(clock.now().getTime() / 60_000) * 60_000 + 5_000));
});

/** A client address no other test used. */
const freshIp = () => `198.51.100.${++ipCounter}`;

async function freshKey(owner: User = member): Promise<string> {
  return (await kw.keys.create(owner.actor, { name: "k", scopes: ["read"] })).apiKey.id;
}

/** Records `n` events and writes them (which evaluates the rules). */
async function record(n: number, event: SecurityEventInput): Promise<void> {
  for (let i = 0; i < n; i++) kw.securityEvents.record(event);
  await kw.securityEvents.flush();
}

/** Every alert of a rule about a subject, any status. */
const alertsFor = (ruleId: string, subject: string) =>
  kw.database.db.select().from(alerts).where(and(eq(alerts.ruleId, ruleId), eq(alerts.subject, subject)));

describe("default rules fire at their threshold and not one below", () => {
  it("seeds every default rule, enabled", async () => {
    const rules = await kw.security.listRules(admin.actor);
    expect(rules.map((rule) => rule.id).sort()).toEqual(DEFAULT_ALERT_RULES.map((rule) => rule.id).sort());
    expect(rules).not.toHaveLength(0);
    expectEvery(rules, (rule) => rule.enabled);
  });

  it("auth_failure_burst counts an IPv6 client by its /64: 20 failures from 20 addresses of one /64 open the alert", async () => {
    const network = `2001:db8:${(++ipCounter).toString(16)}:1`;
    const inNetwork = (host: number) => `${network}:${host.toString(16)}::${(host * 7).toString(16)}`;
    for (let host = 1; host <= 19; host++) await record(1, { kind: "invalid_key", severity: "warning", clientIp: inNetwork(host) });
    // The neighbouring /64 is another client.
    await record(5, { kind: "invalid_key", severity: "warning", clientIp: `2001:db8:${ipCounter.toString(16)}:2::1` });
    const subject = `2001:db8:${ipCounter.toString(16)}:1::/64`;
    expect(await alertsFor("auth_failure_burst", subject)).toHaveLength(0);

    await record(1, { kind: "login_failed", severity: "warning", clientIp: inNetwork(20) });
    const opened = await alertsFor("auth_failure_burst", subject);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ status: "open", subjectType: "ip", keyId: null });
    expect(opened[0]!.details).toMatchObject({ observed: 20, threshold: 20 });
    // No alert names a single address of the network.
    const perAddress = await Promise.all([1, 20].map((host) => alertsFor("auth_failure_burst", inNetwork(host))));
    expect(perAddress.flat()).toHaveLength(0);
    // The stored events still say which address each came from.
    const events = (await kw.security.listEvents(admin.actor, { kind: "invalid_key", limit: 200 })).data.filter((event) => event.details.clientNetwork === subject);
    expect(events).not.toHaveLength(0);
    expectEvery(events, (event) => event.clientIp!.startsWith(`${network}:`));
  });

  it("auth_failure_burst: 20 failures from one address within 5 minutes, across failure kinds", async () => {
    const ip = freshIp();
    await record(10, { kind: "invalid_key", severity: "warning", clientIp: ip });
    clock.advance(60_000);
    await record(5, { kind: "key_expired", severity: "info", keyId: memberKeyId, clientIp: ip });
    await record(4, { kind: "login_failed", severity: "warning", clientIp: ip });
    // Other kinds and other addresses do not count.
    await record(5, { kind: "rate_limited", severity: "info", keyId: memberKeyId, clientIp: ip });
    await record(5, { kind: "invalid_key", severity: "warning", clientIp: freshIp() });
    expect(await alertsFor("auth_failure_burst", ip)).toHaveLength(0);

    await record(1, { kind: "invalid_key", severity: "warning", clientIp: ip });
    const [alert] = await alertsFor("auth_failure_burst", ip);
    expect(alert).toMatchObject({ status: "open", subjectType: "ip", severity: "warning", count: 1, keyId: null });
    expect(alert!.details).toMatchObject({ observed: 20, threshold: 20, windowSeconds: 300 });
  });

  it("auth_failure_burst: failures older than the window do not count", async () => {
    const ip = freshIp();
    await record(19, { kind: "invalid_key", severity: "warning", clientIp: ip });
    clock.advance(6 * 60_000);
    await record(1, { kind: "invalid_key", severity: "warning", clientIp: ip });
    expect(await alertsFor("auth_failure_burst", ip)).toHaveLength(0);
  });

  it("revoked_key_used: the first use of a revoked key; an expired key's use is not that", async () => {
    const keyId = await freshKey();
    await record(3, { kind: "key_expired", severity: "info", keyId, clientIp: freshIp() });
    expect(await alertsFor("revoked_key_used", keyId)).toHaveLength(0);
    await record(1, { kind: "key_revoked", severity: "warning", keyId, clientIp: freshIp() });
    const [alert] = await alertsFor("revoked_key_used", keyId);
    expect(alert).toMatchObject({ status: "open", subjectType: "key", severity: "critical", keyId });
  });

  it("ip_allowlist_denials: 10 denials for one key, from any addresses", async () => {
    const keyId = await freshKey();
    await record(5, { kind: "ip_not_allowed", severity: "warning", keyId, clientIp: freshIp() });
    await record(4, { kind: "ip_not_allowed", severity: "warning", keyId, clientIp: freshIp() });
    await record(3, { kind: "ip_not_allowed", severity: "warning", keyId: await freshKey(), clientIp: freshIp() });
    expect(await alertsFor("ip_allowlist_denials", keyId)).toHaveLength(0);
    await record(1, { kind: "ip_not_allowed", severity: "warning", keyId, clientIp: freshIp() });
    expect(await alertsFor("ip_allowlist_denials", keyId)).toHaveLength(1);
  });

  it("key_rate_limited_continuously: rate-limited in each of 5 consecutive minutes, not 4, not with a gap", async () => {
    const keyId = await freshKey();
    const ip = freshIp();
    for (let minute = 0; minute < 4; minute++) {
      await record(50, { kind: "rate_limited", severity: "info", keyId, clientIp: ip });
      clock.advance(60_000);
    }
    // Four minutes of thousands of refusals are still not "continuously for five".
    expect(await alertsFor("key_rate_limited_continuously", keyId)).toHaveLength(0);
    await record(1, { kind: "rate_limited", severity: "info", keyId, clientIp: ip });
    const [alert] = await alertsFor("key_rate_limited_continuously", keyId);
    expect(alert?.details).toMatchObject({ observed: 5, measure: "minutes" });

    const gappy = await freshKey();
    clock.advance(10 * 60_000);
    const base = clock.now().getTime();
    // Minutes 0, 1, 2, 4, 5: at minute 5 the last five minutes (1–5) hold only four with a refusal.
    for (const minute of [0, 1, 2, 4, 5]) {
      clock.set(new Date(base + minute * 60_000));
      await record(1, { kind: "rate_limited", severity: "info", keyId: gappy, clientIp: ip });
    }
    expect(await alertsFor("key_rate_limited_continuously", gappy)).toHaveLength(0);
  });

  it("recoverable_key_revealed: a reveal through KeyService records the event and opens the alert", async () => {
    const { apiKey } = await kw.keys.create(admin.actor, { name: "recoverable", scopes: ["read"], recoverable: true });
    await kw.securityEvents.flush();
    expect(await alertsFor("recoverable_key_revealed", apiKey.id)).toHaveLength(0);
    await kw.keys.reveal({ ...admin.actor, meta: { ip: "192.0.2.77" } } as Actor, apiKey.id);
    await kw.securityEvents.flush();
    const events = await kw.security.listEvents(admin.actor, { kind: "key_revealed", keyId: apiKey.id });
    expect(events.data).toHaveLength(1);
    expect(events.data[0]).toMatchObject({ clientIp: "192.0.2.77", details: { revealedBy: admin.id } });
    expect(JSON.stringify(events.data)).not.toMatch(/kw_[0-9A-Za-z]{61}/);
    expect(await alertsFor("recoverable_key_revealed", apiKey.id)).toHaveLength(1);
  });

  it("admin_login_new_ip: an admin's sign-in from an address none of their earlier sign-ins used", async () => {
    const newAdmin = await createUser(kw, "admin");
    const signIn = async (user: User, ip: string) => {
      const { user: signedIn } = await kw.auth.login(user.email, TEST_PASSWORD, { ip });
      await kw.securityEvents.noteSignIn(signedIn, ip);
      await kw.securityEvents.flush();
    };
    const home = freshIp();
    const away = freshIp();
    await signIn(newAdmin, home); // the first sign-in sets the baseline
    await signIn(newAdmin, home);
    expect(await alertsFor("admin_login_new_ip", home)).toHaveLength(0);
    await signIn(member, freshIp());
    await signIn(member, away); // members are not watched
    expect(await alertsFor("admin_login_new_ip", away)).toHaveLength(0);

    await signIn(newAdmin, away);
    const [alert] = await alertsFor("admin_login_new_ip", away);
    expect(alert).toMatchObject({ status: "open", subjectType: "ip" });
    const events = await kw.security.listEvents(admin.actor, { kind: "admin_login_new_ip" });
    expect(events.data.find((event) => event.clientIp === away)?.details).toMatchObject({ userId: newAdmin.id });
    // Once known, the address is not new any more.
    await kw.security.resolve(admin.actor, alert!.id);
    await signIn(newAdmin, away);
    expect(await alertsFor("admin_login_new_ip", away)).toHaveLength(1);
  });

  it("a disabled rule does not fire; a tuned threshold is the one used", async () => {
    const keyId = await freshKey();
    await kw.security.updateRule(admin.actor, "ip_allowlist_denials", { enabled: false });
    await record(20, { kind: "ip_not_allowed", severity: "warning", keyId, clientIp: freshIp() });
    expect(await alertsFor("ip_allowlist_denials", keyId)).toHaveLength(0);
    await kw.security.updateRule(admin.actor, "ip_allowlist_denials", { enabled: true, threshold: 25 });
    await record(4, { kind: "ip_not_allowed", severity: "warning", keyId, clientIp: freshIp() });
    expect(await alertsFor("ip_allowlist_denials", keyId)).toHaveLength(0);
    await record(1, { kind: "ip_not_allowed", severity: "warning", keyId, clientIp: freshIp() });
    expect(await alertsFor("ip_allowlist_denials", keyId)).toHaveLength(1);
    await kw.security.updateRule(admin.actor, "ip_allowlist_denials", { threshold: 10 });
  });
});

describe("opening, bumping and closing alerts", () => {
  it("firing again bumps the open alert instead of opening another; after resolve a new one opens", async () => {
    const keyId = await freshKey();
    await record(1, { kind: "key_revoked", severity: "warning", keyId, clientIp: freshIp() });
    const [first] = await alertsFor("revoked_key_used", keyId);
    clock.advance(30_000);
    await record(1, { kind: "key_revoked", severity: "warning", keyId, clientIp: freshIp() });
    const bumped = await alertsFor("revoked_key_used", keyId);
    expect(bumped).toHaveLength(1);
    expect(bumped[0]).toMatchObject({ id: first!.id, count: 2 });
    expect(bumped[0]!.lastFiredAt.getTime()).toBe(first!.lastFiredAt.getTime() + 30_000);
    expect(bumped[0]!.firstFiredAt).toEqual(first!.firstFiredAt);

    // An acknowledged alert is still open for bumps.
    await kw.security.ack(admin.actor, first!.id);
    await record(1, { kind: "key_revoked", severity: "warning", keyId, clientIp: freshIp() });
    expect(await alertsFor("revoked_key_used", keyId)).toMatchObject([{ id: first!.id, count: 3, status: "acknowledged" }]);

    await kw.security.resolve(admin.actor, first!.id);
    await record(1, { kind: "key_revoked", severity: "warning", keyId, clientIp: freshIp() });
    const all = await alertsFor("revoked_key_used", keyId);
    expect(all).toHaveLength(2);
    expect(all.find((alert) => alert.id !== first!.id)).toMatchObject({ status: "open", count: 1 });
  });

  it("concurrent evaluations of the same firing bump one alert (the partial unique index)", async () => {
    const keyId = await freshKey();
    kw.securityEvents.record({ kind: "key_revoked", severity: "warning", keyId, clientIp: freshIp() });
    await kw.securityEvents.flush();
    const touched = [{ kind: "key_revoked" as const, keyId, clientIp: null }];
    await Promise.all([kw.security.evaluate(touched), kw.security.evaluate(touched), kw.security.evaluate(touched)]);
    const rows = await kw.database.db.select().from(alerts).where(and(eq(alerts.subject, keyId), ne(alerts.status, "resolved")));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.count).toBe(4);
  });

  it("ack and resolve record who and when, each with its audit entry; repeats change nothing", async () => {
    const keyId = await freshKey();
    await record(1, { kind: "key_revoked", severity: "warning", keyId, clientIp: freshIp() });
    const [row] = await alertsFor("revoked_key_used", keyId);
    clock.advance(1000);
    const acked = await kw.security.ack(admin.actor, row!.id);
    expect(acked).toMatchObject({ status: "acknowledged", ackedBy: admin.id, ackedAt: clock.now().toISOString(), resolvedAt: null });
    expect(await kw.security.ack(admin.actor, row!.id)).toMatchObject({ status: "acknowledged", ackedAt: acked.ackedAt });
    clock.advance(1000);
    const resolved = await kw.security.resolve(admin.actor, row!.id);
    expect(resolved).toMatchObject({ status: "resolved", resolvedBy: admin.id, resolvedAt: clock.now().toISOString(), ackedBy: admin.id });
    expect(await kw.security.resolve(admin.actor, row!.id)).toMatchObject({ resolvedAt: resolved.resolvedAt });
    await expect(kw.security.ack(admin.actor, row!.id)).rejects.toMatchObject({ code: "invalid_state" });

    const audit = await kw.database.db.select().from(auditEvents).where(eq(auditEvents.targetId, row!.id));
    expect(audit.map((entry) => entry.action).sort()).toEqual(["alert.acknowledged", "alert.resolved"]);
    expect(audit).not.toHaveLength(0);
    expectEvery(audit, (entry) => entry.actorId === admin.id && entry.targetType === "alert");
    expect(audit.find((entry) => entry.action === "alert.resolved")!.details).toMatchObject({ before: { status: "acknowledged" }, after: { status: "resolved" } });
  });

  it("publishes alert.changed when an alert opens and when it is acknowledged", async () => {
    const seen: KeywardEvent[] = [];
    const unsubscribe = kw.events.subscribe((event) => seen.push(event));
    try {
      const keyId = await freshKey();
      await record(1, { kind: "key_revoked", severity: "warning", keyId, clientIp: freshIp() });
      const [row] = await alertsFor("revoked_key_used", keyId);
      await expect.poll(() => seen.filter((event) => event.type === "alert.changed" && event.alertId === row!.id).length).toBe(1);
      await kw.security.ack(admin.actor, row!.id);
      await expect.poll(() => seen.filter((event) => event.type === "alert.changed" && event.alertId === row!.id).length).toBe(2);
    } finally {
      unsubscribe();
    }
  });
});

describe("who sees and changes what", () => {
  let memberAlert: AlertView;
  let otherAlert: AlertView;
  let ipAlertId: string;

  beforeAll(async () => {
    await record(1, { kind: "key_revoked", severity: "warning", keyId: memberKeyId, clientIp: freshIp() });
    await record(1, { kind: "key_revoked", severity: "warning", keyId: otherKeyId, clientIp: freshIp() });
    const ip = freshIp();
    await record(20, { kind: "invalid_key", severity: "warning", clientIp: ip });
    memberAlert = await kw.security.getAlert(admin.actor, (await alertsFor("revoked_key_used", memberKeyId))[0]!.id);
    otherAlert = await kw.security.getAlert(admin.actor, (await alertsFor("revoked_key_used", otherKeyId))[0]!.id);
    ipAlertId = (await alertsFor("auth_failure_burst", ip))[0]!.id;
  });

  it("a member sees alerts and events about their own keys only", async () => {
    const list = await kw.security.listAlerts(member.actor, { limit: 200 });
    const ids = list.data.map((alert) => alert.id);
    expect(ids).toContain(memberAlert.id);
    expect(ids).not.toContain(otherAlert.id);
    expect(ids).not.toContain(ipAlertId);
    const owned = new Set((await kw.keys.list(member.actor, { limit: 100 })).data.map((key) => key.id));
    expect(list.data).not.toHaveLength(0);
    expectEvery(list.data, (alert) => owned.has(alert.keyId!));
    await expect(kw.security.getAlert(member.actor, otherAlert.id)).rejects.toMatchObject({ code: "not_found" });
    await expect(kw.security.getAlert(member.actor, ipAlertId)).rejects.toMatchObject({ code: "not_found" });

    const events = await kw.security.listEvents(member.actor, { limit: 200 });
    expect(events.data.length).toBeGreaterThan(0);
    expectEvery(events.data, (event) => owned.has(event.keyId!));
    expect(await kw.security.openAlertCount(member.actor)).toBe(list.data.filter((alert) => alert.status === "open").length);
    expect(await kw.security.openAlertCount(admin.actor)).toBeGreaterThan(await kw.security.openAlertCount(member.actor));
  });

  it("a member cannot acknowledge, resolve, read deliveries or change rules, even for their own key", async () => {
    for (const attempt of [
      () => kw.security.ack(member.actor, memberAlert.id),
      () => kw.security.resolve(member.actor, otherAlert.id),
      () => kw.security.deliveries(member.actor, memberAlert.id),
      () => kw.security.listRules(member.actor),
      () => kw.security.updateRule(member.actor, "revoked_key_used", { enabled: false }),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ code: "insufficient_scope" });
    }
    expect((await kw.security.getAlert(admin.actor, memberAlert.id)).status).toBe("open");
  });

  it("through tRPC: members read, only admins act", async () => {
    const callerFor = (actor: Actor) => createCaller({ keyward: kw, request: new Request("http://keyward.test/api/trpc"), actor, viaCookie: false, authFailure: null });
    const asMember = callerFor(member.actor);
    const asAdmin = callerFor(admin.actor);
    const owned = new Set((await kw.keys.list(member.actor, { limit: 100 })).data.map((key) => key.id));
    const seen = (await asMember.security.alerts({})).data;
    expect(seen.map((alert) => alert.id)).toContain(memberAlert.id);
    expect(seen).not.toHaveLength(0);
    expectEvery(seen, (alert) => owned.has(alert.keyId!));
    expect(await asMember.security.openAlertCount()).toBeGreaterThanOrEqual(1);
    await expect(asMember.security.ack({ id: memberAlert.id })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(asMember.security.rules()).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(asMember.security.alert({ id: otherAlert.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await asAdmin.security.ack({ id: otherAlert.id })).status).toBe("acknowledged");
    expect((await asAdmin.security.resolve({ id: otherAlert.id })).status).toBe("resolved");
    await expect(asAdmin.security.events({ limit: 0 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    const rule = await asAdmin.security.updateRule({ id: "auth_failure_burst", patch: { severity: "critical" } });
    expect(rule.severity).toBe("critical");
    await asAdmin.security.updateRule({ id: "auth_failure_burst", patch: { severity: "warning" } });
  });
});

describe("rules and event reads", () => {
  it("updating a rule records before/after in the audit trail; invalid rules are refused", async () => {
    const updated = await kw.security.updateRule(admin.actor, "auth_failure_burst", { threshold: 50, windowSeconds: 600 });
    expect(updated).toMatchObject({ threshold: 50, windowSeconds: 600, updatedBy: admin.id });
    const entries = await kw.database.db.select().from(auditEvents).where(eq(auditEvents.action, "settings.alert_rule_updated"));
    expect(entries.map((entry) => entry.details)).toContainEqual({ before: { threshold: 20, windowSeconds: 300 }, after: { threshold: 50, windowSeconds: 600 } });
    expect(entries).not.toHaveLength(0);
    expectEvery(entries, (entry) => entry.actorId === admin.id && entry.targetType === "settings");
    await kw.security.updateRule(admin.actor, "auth_failure_burst", { threshold: 20, windowSeconds: 300 });

    await expect(kw.security.updateRule(admin.actor, "key_rate_limited_continuously", { threshold: 6 })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(kw.security.updateRule(admin.actor, "auth_failure_burst", { threshold: 0 })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(kw.security.updateRule(admin.actor, "auth_failure_burst", {})).rejects.toMatchObject({ code: "validation_failed" });
    await expect(kw.security.updateRule(admin.actor, "no_such_rule", { enabled: false })).rejects.toMatchObject({ code: "not_found" });
    await expect(kw.security.updateRule(system, "auth_failure_burst", { kinds: ["not_a_kind" as "invalid_key"] })).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("lists events newest first with filters and an opaque cursor", async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) {
      await record(1, { kind: "too_many_failures", severity: "warning", clientIp: ip, aggregate: false });
      clock.advance(1000);
    }
    const first = await kw.security.listEvents(admin.actor, { kind: "too_many_failures", limit: 3 });
    expect(first.data).toHaveLength(3);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await kw.security.listEvents(admin.actor, { kind: "too_many_failures", limit: 3, cursor: first.nextCursor! });
    const all = [...first.data, ...second.data];
    expect(new Set(all.map((event) => event.id)).size).toBe(all.length);
    expect(all.filter((event) => event.clientIp === ip)).toHaveLength(5);
    const times = all.map((event) => event.occurredAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect(Object.keys(all[0]!).sort()).toEqual(["clientIp", "count", "details", "firstSeen", "id", "keyId", "kind", "lastSeen", "occurredAt", "severity"]);

    const ranged = await kw.security.listEvents(admin.actor, { from: clock.now().toISOString() });
    expect(ranged.data).toHaveLength(0);
    await record(1, { kind: "credentials_in_url", severity: "critical", clientIp: ip, aggregate: false });
    await record(1, { kind: "credentials_in_url", severity: "warning", clientIp: ip, aggregate: false });
    const critical = await kw.security.listEvents(admin.actor, { severity: "critical" });
    expect(critical.data.filter((event) => event.kind === "credentials_in_url" && event.clientIp === ip)).toHaveLength(1);
    expectEvery(critical.data, (event) => event.severity === "critical");
    await expect(kw.security.listEvents(admin.actor, { cursor: "not-a-cursor" })).rejects.toMatchObject({ code: "validation_failed" });
  });
});
