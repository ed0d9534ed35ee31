/**
 * IPv4/IPv6 addresses and CIDR ranges, in plain TypeScript so the dashboard can
 * validate an allowlist as it is typed with the same rules the server enforces.
 */
export interface Address {
  version: 4 | 6;
  value: bigint;
}

export interface Cidr extends Address {
  prefix: number;
}

function parseIpv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(input: string): bigint | null {
  const text = input.replace(/%[\w.-]+$/, "");
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  // A dotted IPv4 tail may only end the whole address (`::ffff:1.2.3.4`, never `1.2.3.4::`).
  const toGroups = (part: string, endsAddress: boolean): number[] | null => {
    if (part === "") return [];
    const groups: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (endsAddress && i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (v4 === null) return null;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        groups.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return groups;
  };
  const head = toGroups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? toGroups(halves[1]!, true) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;

/** Parses an address; IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is read as the IPv4 address it carries. */
export function parseAddress(text: string): Address | null {
  const trimmed = text.trim();
  const v4 = parseIpv4(trimmed);
  if (v4 !== null) return { version: 4, value: v4 };
  const v6 = parseIpv6(trimmed);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn && (v6 & ~0xffffffffn) === V4_MAPPED_PREFIX) return { version: 4, value: v6 & 0xffffffffn };
  return { version: 6, value: v6 };
}

/** Parses `address` or `address/prefix`; the error says what is wrong, for a person to fix. */
export function parseCidr(entry: string): { ok: true; cidr: Cidr } | { ok: false; error: string } {
  const text = entry.trim();
  if (text === "") return { ok: false, error: "Empty entry" };
  const [addressText, prefixText, ...rest] = text.split("/");
  if (rest.length > 0) return { ok: false, error: `"${text}" has more than one "/"` };
  const address = parseAddress(addressText!);
  if (!address) return { ok: false, error: `"${addressText}" is not an IPv4 or IPv6 address` };
  const bits = address.version === 4 ? 32 : 128;
  if (prefixText === undefined) return { ok: true, cidr: { ...address, prefix: bits } };
  // IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`): the prefix counts the 96 bits of `::ffff:0:0` too.
  const mapped = address.version === 4 && addressText!.includes(":");
  const written = mapped ? 128 : bits;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > written) {
    return { ok: false, error: `"/${prefixText}" is not a prefix length for IPv${mapped ? 6 : address.version} (0–${written})` };
  }
  if (mapped && Number(prefixText) < 96) {
    return { ok: false, error: `"${text}" reaches past the IPv4-mapped range ::ffff:0:0/96; use a prefix of 96–128, or the IPv4 form` };
  }
  const prefix = Number(prefixText) - (mapped ? 96 : 0);
  const hostBits = BigInt(bits - prefix);
  if ((address.value & ((1n << hostBits) - 1n)) !== 0n) {
    return { ok: false, error: `"${text}" has host bits set; the network is ${formatCidr({ ...address, value: (address.value >> hostBits) << hostBits, prefix })}` };
  }
  return { ok: true, cidr: { ...address, prefix } };
}

export function formatAddress({ version, value }: Address): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt((7 - i) * 16)) & 0xffffn));
  // Collapse the longest run of two or more zero groups (RFC 5952).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

export function formatCidr(cidr: Cidr): string {
  const full = cidr.version === 4 ? 32 : 128;
  return cidr.prefix === full ? formatAddress(cidr) : `${formatAddress(cidr)}/${cidr.prefix}`;
}

/** Canonical text of an allowlist entry, or an error message. */
export function normalizeCidr(entry: string): { ok: true; value: string } | { ok: false; error: string } {
  const parsed = parseCidr(entry);
  return parsed.ok ? { ok: true, value: formatCidr(parsed.cidr) } : parsed;
}

export function cidrContains(cidr: Cidr, address: Address): boolean {
  if (cidr.version !== address.version) return false;
  const hostBits = BigInt((cidr.version === 4 ? 32 : 128) - cidr.prefix);
  return address.value >> hostBits === cidr.value >> hostBits;
}

/** An empty allowlist allows every address; an unparsable client address is never allowed by a non-empty list. */
export function isAddressAllowed(clientAddress: string, allowlist: readonly string[]): boolean {
  if (allowlist.length === 0) return true;
  const address = parseAddress(clientAddress);
  if (!address) return false;
  return allowlist.some((entry) => {
    const parsed = parseCidr(entry);
    return parsed.ok && cidrContains(parsed.cidr, address);
  });
}

/**
 * The unit a per-address counter (failed-auth throttles, sign-in throttles, alert aggregation)
 * counts: an IPv4 address, or the /64 network of an IPv6 address. One IPv6 subscriber is usually
 * handed a whole /64, so counting single IPv6 addresses would let one client rotate through 2^64
 * of them and never be throttled. Unparsable text counts as itself.
 */
export function addressBucket(clientAddress: string): string {
  const address = parseAddress(clientAddress);
  if (!address) return clientAddress;
  if (address.version === 4) return formatAddress(address);
  return formatCidr({ version: 6, value: (address.value >> 64n) << 64n, prefix: 64 });
}
