import { normalizeCidr } from "../lib/ip";

export interface AllowlistCheck {
  /** Normalized entries, in order, without duplicates. */
  entries: string[];
  /** One message per bad line, naming the line and why. */
  problems: string[];
}

/**
 * Checks an allowlist typed one address or CIDR range per line, by the rules the server applies
 * (app/lib/ip.ts): blank lines are ignored, each bad line is explained with its number.
 */
export function checkAllowlist(text: string): AllowlistCheck {
  const entries: string[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const value = raw.trim();
    if (value === "") return;
    const checked = normalizeCidr(value);
    if (checked.ok) {
      if (!entries.includes(checked.value)) entries.push(checked.value);
    } else problems.push(`Line ${index + 1}: ${checked.error}`);
  });
  return { entries, problems };
}
