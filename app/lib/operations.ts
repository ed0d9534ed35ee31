import type { Scope } from "./scopes";

/**
 * The scope every operation of Keyward's management API needs, declared once: the REST routes
 * (`withApiKey({ operation }, ...)`), the tRPC procedures (`operationProcedure(...)`) and the OpenAPI
 * document all read this table, so a surface cannot ask for less than another. Scopes are
 * hierarchical (admin ⊇ write ⊇ read); a root key restricted to some APIs is further limited to
 * their keys and identities by the services themselves.
 *
 * Security events and alerts are two operations each: the REST endpoints list everything and are
 * admin-only (`security.events`, `security.alerts`), while the dashboard's reads (`security.view`)
 * are open to every reader and filtered by the services to the keys the caller may see.
 */
export const OPERATIONS = {
  me: { scope: "read" },
  "keys.list": { scope: "read" },
  "keys.get": { scope: "read" },
  "keys.create": { scope: "write" },
  "keys.update": { scope: "write" },
  "keys.disable": { scope: "write" },
  "keys.enable": { scope: "write" },
  "keys.revoke": { scope: "write" },
  "keys.rotate": { scope: "write" },
  "keys.reveal": { scope: "admin" },
  "keys.usage": { scope: "read" },
  "keys.requests": { scope: "read" },
  "keys.audit": { scope: "read" },
  "apis.list": { scope: "read" },
  "apis.get": { scope: "read" },
  "apis.create": { scope: "write" },
  "apis.update": { scope: "write" },
  "apis.delete": { scope: "write" },
  "apis.keys.list": { scope: "read" },
  "apis.keys.create": { scope: "write" },
  "apis.usage": { scope: "read" },
  "identities.list": { scope: "read" },
  "identities.get": { scope: "read" },
  "identities.create": { scope: "write" },
  "identities.update": { scope: "write" },
  "identities.delete": { scope: "write" },
  "identities.revokeKeys": { scope: "write" },
  "identities.disableKeys": { scope: "write" },
  "identities.usage": { scope: "read" },
  verify: { scope: "read" },
  "verify.report": { scope: "read" },
  "events.stream": { scope: "read" },
  "overview.get": { scope: "read" },
  "usage.summary": { scope: "admin" },
  "audit.list": { scope: "admin" },
  "audit.export": { scope: "admin" },
  "security.events": { scope: "admin" },
  "security.alerts": { scope: "admin" },
  "security.ack": { scope: "admin" },
  "security.resolve": { scope: "admin" },
  "security.view": { scope: "read" },
  "security.deliveries": { scope: "admin" },
  "security.rules": { scope: "admin" },
  "security.rules.update": { scope: "admin" },
  "users.manage": { scope: "admin" },
} as const satisfies Record<string, { scope: Scope }>;

export type Operation = keyof typeof OPERATIONS;

/** The scope an operation needs. */
export const scopeOf = (operation: Operation): Scope => OPERATIONS[operation].scope;
