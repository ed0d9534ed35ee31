/** The audit actions the dashboard offers as filters, by family; the API accepts any action or `family.*`. */
export const AUDIT_ACTION_GROUPS = [
  { family: "key.*", label: "Keys", actions: ["key.created", "key.updated", "key.disabled", "key.enabled", "key.rotated", "key.revealed", "key.revoked"] },
  { family: "api.*", label: "APIs", actions: ["api.created", "api.updated", "api.archived"] },
  { family: "identity.*", label: "Identities", actions: ["identity.created", "identity.updated", "identity.deleted", "identity.keys_revoked", "identity.keys_disabled"] },
  { family: "user.*", label: "Users", actions: ["user.created", "user.role_changed", "user.disabled", "user.enabled", "user.password_changed", "user.password_reset"] },
  { family: "auth.*", label: "Sign-ins", actions: ["auth.login", "auth.logout"] },
  { family: "session.*", label: "Sessions", actions: ["session.ended"] },
  { family: "alert.*", label: "Alerts", actions: ["alert.acknowledged", "alert.resolved"] },
  { family: "settings.*", label: "Settings", actions: ["settings.alert_rule_updated"] },
] as const;

/** "key.role_changed" → "Role changed", for tables. */
export function describeAction(action: string): string {
  const verb = action.split(".").slice(1).join(" ").replaceAll("_", " ");
  return verb ? verb[0]!.toUpperCase() + verb.slice(1) : action;
}
