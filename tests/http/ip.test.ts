import { describe, expect, it } from "vitest";
import { cidrContains, formatAddress, isAddressAllowed, normalizeCidr, parseAddress, parseCidr } from "../../app/lib/ip";

const text = (input: string) => {
  const address = parseAddress(input);
  return address ? `v${address.version} ${formatAddress(address)}` : null;
};

describe("parseAddress", () => {
  it("reads dotted-quad IPv4 and refuses anything else shaped like it", () => {
    expect(text("10.0.0.1")).toBe("v4 10.0.0.1");
    expect(text("0.0.0.0")).toBe("v4 0.0.0.0");
    expect(text("255.255.255.255")).toBe("v4 255.255.255.255");
    expect(text(" 192.168.1.20 ")).toBe("v4 192.168.1.20");
    expect(parseAddress("10.0.0.1")).toEqual({ version: 4, value: 0x0a000001n });
    for (const bad of ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "1..3.4", "a.b.c.d", "", "1.2.3.4 5"]) {
      expect(parseAddress(bad), bad).toBeNull();
    }
  });

  it("reads IPv6 in full, compressed and mixed forms", () => {
    expect(text("2001:0DB8:0000:0000:0000:0000:0000:0001")).toBe("v6 2001:db8::1");
    expect(text("::1")).toBe("v6 ::1");
    expect(text("::")).toBe("v6 ::");
    expect(text("1::")).toBe("v6 1::");
    expect(text("fe80::1%eth0")).toBe("v6 fe80::1");
    expect(text("::1.2.3.4")).toBe("v6 ::102:304");
    expect(text("64:ff9b::192.0.2.33")).toBe("v6 64:ff9b::c000:221");
    expect(text("1:2:3:4:5:6:1.2.3.4")).toBe("v6 1:2:3:4:5:6:102:304");
    expect(parseAddress("::1")).toEqual({ version: 6, value: 1n });
  });

  it("refuses malformed IPv6", () => {
    for (const bad of [
      "1::2::3",
      ":::",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8::",
      ":1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:",
      "g::1",
      "1:2:3:4:5:6:7:1.2.3.4",
      "::1.2.3.256",
    ]) {
      expect(parseAddress(bad), bad).toBeNull();
    }
  });

  // Bug fixed in app/lib/ip.ts: a dotted IPv4 part was accepted at the end of the part before "::",
  // so "10.0.0.1::" parsed as a:1:: and normalised an allowlist typo into an unrelated network.
  it("accepts a dotted IPv4 part only at the very end of the address", () => {
    expect(parseAddress("1.2.3.4::")).toBeNull();
    expect(parseAddress("1.2.3.4::1")).toBeNull();
    expect(parseAddress("10.0.0.1::")).toBeNull();
    expect(normalizeCidr("10.0.0.0::/16").ok).toBe(false);
  });

  it("reads an IPv4-mapped IPv6 address as the IPv4 address it carries", () => {
    expect(text("::ffff:127.0.0.1")).toBe("v4 127.0.0.1");
    expect(text("::FFFF:7f00:1")).toBe("v4 127.0.0.1");
    expect(text("0:0:0:0:0:ffff:10.1.2.3")).toBe("v4 10.1.2.3");
    // Not mapped: other prefixes stay IPv6.
    expect(text("::ffff:0:1.2.3.4")).toBe("v6 ::ffff:0:102:304");
    expect(text("1::ffff:1.2.3.4")).toBe("v6 1::ffff:102:304");
  });
});

describe("formatAddress (RFC 5952)", () => {
  it("collapses the longest run of two or more zero groups, the first on a tie, and never a single one", () => {
    expect(text("2001:db8:0:0:1:0:0:1")).toBe("v6 2001:db8::1:0:0:1");
    expect(text("2001:0:0:1:0:0:0:1")).toBe("v6 2001:0:0:1::1");
    expect(text("2001:db8:0:1:1:1:1:1")).toBe("v6 2001:db8:0:1:1:1:1:1");
    expect(text("0:0:0:0:0:0:0:1")).toBe("v6 ::1");
    expect(text("1:0:0:0:0:0:0:0")).toBe("v6 1::");
    expect(text("0:0:0:0:0:0:0:0")).toBe("v6 ::");
    expect(text("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789")).toBe("v6 abcd:ef01:2345:6789:abcd:ef01:2345:6789");
  });
});

describe("parseCidr / normalizeCidr", () => {
  it("normalises addresses and networks to their canonical text", () => {
    expect(normalizeCidr("10.0.0.0/8")).toEqual({ ok: true, value: "10.0.0.0/8" });
    expect(normalizeCidr(" 10.0.0.0/08 ")).toEqual({ ok: true, value: "10.0.0.0/8" });
    expect(normalizeCidr("192.168.1.7")).toEqual({ ok: true, value: "192.168.1.7" });
    expect(normalizeCidr("192.168.1.7/32")).toEqual({ ok: true, value: "192.168.1.7" });
    expect(normalizeCidr("0.0.0.0/0")).toEqual({ ok: true, value: "0.0.0.0/0" });
    expect(normalizeCidr("2001:DB8:0:0::/32")).toEqual({ ok: true, value: "2001:db8::/32" });
    expect(normalizeCidr("2001:db8::1/128")).toEqual({ ok: true, value: "2001:db8::1" });
    expect(normalizeCidr("::/0")).toEqual({ ok: true, value: "::/0" });
    expect(parseCidr("10.0.0.0/8")).toEqual({ ok: true, cidr: { version: 4, value: 0x0a000000n, prefix: 8 } });
  });

  it("reads an IPv4-mapped IPv6 network as the IPv4 network it covers: a prefix of 96–128 counts ::ffff:0:0/96 too", () => {
    expect(normalizeCidr("::ffff:127.0.0.1/128")).toEqual({ ok: true, value: "127.0.0.1" });
    expect(normalizeCidr("::ffff:10.0.0.0/104")).toEqual({ ok: true, value: "10.0.0.0/8" });
    expect(normalizeCidr("::FFFF:192.168.0.0/112")).toEqual({ ok: true, value: "192.168.0.0/16" });
    expect(normalizeCidr("::ffff:c0a8:100/120")).toEqual({ ok: true, value: "192.168.1.0/24" });
    expect(normalizeCidr("0:0:0:0:0:ffff:10.0.0.0/104")).toEqual({ ok: true, value: "10.0.0.0/8" });
    expect(normalizeCidr("::ffff:0.0.0.0/96")).toEqual({ ok: true, value: "0.0.0.0/0" });
    expect(parseCidr("::ffff:10.0.0.0/104")).toEqual({ ok: true, cidr: { version: 4, value: 0x0a000000n, prefix: 8 } });
  });

  it("refuses an IPv4-mapped network whose prefix reaches past ::ffff:0:0/96, or past 128", () => {
    for (const entry of ["::ffff:10.0.0.0/8", "::ffff:10.0.0.0/95", "::ffff:0.0.0.0/0", "::ffff:1.2.3.4/32"]) {
      const result = parseCidr(entry);
      expect(result.ok, entry).toBe(false);
      expect(!result.ok && result.error, entry).toMatch(/IPv4-mapped range ::ffff:0:0\/96; use a prefix of 96–128, or the IPv4 form/);
    }
    const tooLong = parseCidr("::ffff:10.0.0.0/129");
    expect(!tooLong.ok && tooLong.error).toMatch(/not a prefix length for IPv6 \(0–128\)/);
    const hostBits = parseCidr("::ffff:10.0.0.1/104");
    expect(!hostBits.ok && hostBits.error).toMatch(/host bits set.*10\.0\.0\.0\/8/);
  });

  it("refuses host bits under the prefix, and names the network that was meant", () => {
    const v4 = parseCidr("10.0.0.1/8");
    expect(v4.ok).toBe(false);
    expect(!v4.ok && v4.error).toMatch(/host bits set.*10\.0\.0\.0\/8/);
    const v6 = parseCidr("2001:db8::1/32");
    expect(!v6.ok && v6.error).toMatch(/host bits set.*2001:db8::\/32/);
    expect(parseCidr("192.168.1.128/25").ok).toBe(true);
    expect(parseCidr("192.168.1.129/25").ok).toBe(false);
  });

  it("refuses bad prefixes and bad shapes with a message a person can act on", () => {
    const error = (entry: string) => {
      const result = parseCidr(entry);
      return result.ok ? null : result.error;
    };
    expect(error("")).toBe("Empty entry");
    expect(error("   ")).toBe("Empty entry");
    expect(error("10.0.0.0/33")).toMatch(/not a prefix length for IPv4 \(0–32\)/);
    expect(error("::/129")).toMatch(/not a prefix length for IPv6 \(0–128\)/);
    expect(error("10.0.0.0/")).toMatch(/not a prefix length/);
    expect(error("10.0.0.0/-1")).toMatch(/not a prefix length/);
    expect(error("10.0.0.0/8/8")).toMatch(/more than one "\/"/);
    expect(error("example.com/8")).toMatch(/is not an IPv4 or IPv6 address/);
  });
});

describe("isAddressAllowed", () => {
  it("allows everything with an empty list", () => {
    expect(isAddressAllowed("203.0.113.9", [])).toBe(true);
    expect(isAddressAllowed("not an address", [])).toBe(true);
  });

  it("matches addresses inside the listed networks only", () => {
    const list = ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"];
    expect(isAddressAllowed("10.255.0.1", list)).toBe(true);
    expect(isAddressAllowed("11.0.0.1", list)).toBe(false);
    expect(isAddressAllowed("192.168.1.7", list)).toBe(true);
    expect(isAddressAllowed("192.168.1.8", list)).toBe(false);
    expect(isAddressAllowed("2001:db8:ffff::1", list)).toBe(true);
    expect(isAddressAllowed("2001:db9::1", list)).toBe(false);
    expect(isAddressAllowed("127.0.0.1", ["10.0.0.0/8"])).toBe(false);
    expect(isAddressAllowed("8.8.8.8", ["0.0.0.0/0"])).toBe(true);
  });

  it("treats an IPv4-mapped client address as its IPv4 address, and never mixes families otherwise", () => {
    expect(isAddressAllowed("::ffff:10.1.2.3", ["10.0.0.0/8"])).toBe(true);
    expect(isAddressAllowed("::ffff:127.0.0.1", ["10.0.0.0/8"])).toBe(false);
    expect(isAddressAllowed("10.1.2.3", ["::ffff:10.0.0.0/104"])).toBe(true);
    expect(isAddressAllowed("127.0.0.1", ["::ffff:127.0.0.1/128"])).toBe(true);
    expect(isAddressAllowed("11.1.2.3", ["::ffff:10.0.0.0/104"])).toBe(false);
    // ::/0 is all of IPv6, not IPv4.
    expect(isAddressAllowed("10.1.2.3", ["::/0"])).toBe(false);
    expect(isAddressAllowed("::a01:203", ["10.0.0.0/8"])).toBe(false);
  });

  it("never allows an unparsable client address, and skips unparsable list entries", () => {
    expect(isAddressAllowed("", ["10.0.0.0/8"])).toBe(false);
    expect(isAddressAllowed("unknown", ["0.0.0.0/0"])).toBe(false);
    expect(isAddressAllowed("10.0.0.1", ["garbage", "10.0.0.1/8"])).toBe(false);
    expect(isAddressAllowed("10.0.0.1", ["garbage", "10.0.0.0/8"])).toBe(true);
  });

  it("cidrContains compares the network bits only", () => {
    const net = parseCidr("172.16.0.0/12");
    if (!net.ok) throw new Error(net.error);
    expect(cidrContains(net.cidr, parseAddress("172.31.255.255")!)).toBe(true);
    expect(cidrContains(net.cidr, parseAddress("172.32.0.0")!)).toBe(false);
    expect(cidrContains(net.cidr, parseAddress("::ffff:172.16.0.1")!)).toBe(true);
  });
});
