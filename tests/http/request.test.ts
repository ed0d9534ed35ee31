import { describe, expect, it } from "vitest";
import { clientAddress, isSameOrigin, readPresentedKey, requestMeta } from "../../app/lib/request.server";

describe("clientAddress", () => {
  it("with trustProxy 0 is the socket peer, whatever X-Forwarded-For claims", () => {
    expect(clientAddress("203.0.113.7", "10.0.0.1", 0)).toBe("10.0.0.1");
    expect(clientAddress(null, "10.0.0.1", 0)).toBe("10.0.0.1");
    expect(clientAddress(undefined, "::ffff:127.0.0.1", 0)).toBe("127.0.0.1");
    expect(clientAddress(undefined, "::1", 0)).toBe("::1");
    expect(clientAddress(undefined, "2001:DB8:0:0::1", 0)).toBe("2001:db8::1");
  });

  it("with trustProxy 1 is the last X-Forwarded-For entry (the one our proxy added)", () => {
    expect(clientAddress("203.0.113.7", "10.0.0.1", 1)).toBe("203.0.113.7");
    // The client put a fake address in front: only the proxy's own entry counts.
    expect(clientAddress("1.1.1.1, 203.0.113.7", "10.0.0.1", 1)).toBe("203.0.113.7");
    expect(clientAddress("1.1.1.1,203.0.113.7", "10.0.0.1", 1)).toBe("203.0.113.7");
    expect(clientAddress("2001:DB8::7", "10.0.0.1", 1)).toBe("2001:db8::7");
    expect(clientAddress("::ffff:203.0.113.7", "10.0.0.1", 1)).toBe("203.0.113.7");
  });

  it("with trustProxy 2 is the second entry from the right", () => {
    expect(clientAddress("1.1.1.1, 203.0.113.7, 10.0.0.2", "10.0.0.1", 2)).toBe("203.0.113.7");
    expect(clientAddress("203.0.113.7, 10.0.0.2", "10.0.0.1", 2)).toBe("203.0.113.7");
    // Fewer entries than trusted hops: the leftmost one is all there is.
    expect(clientAddress("203.0.113.7", "10.0.0.1", 2)).toBe("203.0.113.7");
  });

  it("falls back to the peer when the forwarded header is missing, empty or not an address", () => {
    expect(clientAddress(null, "10.0.0.1", 1)).toBe("10.0.0.1");
    expect(clientAddress("", "10.0.0.1", 1)).toBe("10.0.0.1");
    expect(clientAddress(" , ", "10.0.0.1", 1)).toBe("10.0.0.1");
    expect(clientAddress("unknown", "10.0.0.1", 1)).toBe("10.0.0.1");
    expect(clientAddress("1.1.1.1, not-an-ip", "10.0.0.1", 1)).toBe("10.0.0.1");
  });
});

describe("isSameOrigin", () => {
  const post = (headers: Record<string, string>, url = "http://keys.example.test/keys") => new Request(url, { method: "POST", headers });

  it("accepts an Origin matching the request's host, and refuses any other", () => {
    expect(isSameOrigin(post({ Origin: "http://keys.example.test" }), undefined)).toBe(true);
    expect(isSameOrigin(post({ Origin: "https://evil.example" }), undefined)).toBe(false);
    expect(isSameOrigin(post({ Origin: "http://keys.example.test:8080" }), undefined)).toBe(false);
    expect(isSameOrigin(post({ Origin: "http://example.test" }), undefined)).toBe(false);
    expect(isSameOrigin(post({ Origin: "http://keys.example.test.evil.example" }), undefined)).toBe(false);
  });

  it("with a configured origin, accepts exactly that origin (scheme and port included)", () => {
    const configured = "https://keys.example.test";
    expect(isSameOrigin(post({ Origin: "https://keys.example.test" }), configured)).toBe(true);
    expect(isSameOrigin(post({ Origin: "http://keys.example.test" }), configured)).toBe(false);
    expect(isSameOrigin(post({ Origin: "https://keys.example.test:444" }), configured)).toBe(false);
    expect(isSameOrigin(post({ Origin: "https://evil.example" }), configured)).toBe(false);
  });

  it('refuses the opaque "null" origin and unparsable ones', () => {
    expect(isSameOrigin(post({ Origin: "null" }), undefined)).toBe(false);
    expect(isSameOrigin(post({ Origin: "not a url" }), undefined)).toBe(false);
  });

  it("without Origin, trusts Sec-Fetch-Site unless it says cross-site; a client sending neither is allowed", () => {
    expect(isSameOrigin(post({}), undefined)).toBe(true);
    expect(isSameOrigin(post({ "Sec-Fetch-Site": "same-origin" }), undefined)).toBe(true);
    expect(isSameOrigin(post({ "Sec-Fetch-Site": "cross-site" }), undefined)).toBe(false);
  });
});

describe("readPresentedKey and requestMeta", () => {
  it("reads a Bearer token or X-API-Key, never anything from the URL", () => {
    const key = "kw_example";
    expect(readPresentedKey(new Request("http://x/", { headers: { Authorization: `Bearer ${key}` } }))).toBe(key);
    expect(readPresentedKey(new Request("http://x/", { headers: { Authorization: `bearer   ${key}  ` } }))).toBe(key);
    expect(readPresentedKey(new Request("http://x/", { headers: { "X-API-Key": ` ${key} ` } }))).toBe(key);
    expect(readPresentedKey(new Request(`http://x/?key=${key}&api_key=${key}`))).toBeNull();
    // Another scheme is passed on whole, so it fails the format check instead of falling back to the cookie.
    expect(readPresentedKey(new Request("http://x/", { headers: { Authorization: "Basic dXNlcjpwYXNz" } }))).toBe("Basic dXNlcjpwYXNz");
  });

  it("keeps the address, a bounded user agent and the request id for audit entries", () => {
    const request = new Request("http://x/", { headers: { "User-Agent": "a".repeat(600) } });
    expect(requestMeta(request, "10.0.0.1", "req-1")).toEqual({ ip: "10.0.0.1", userAgent: "a".repeat(512), requestId: "req-1" });
    expect(requestMeta(new Request("http://x/"), "10.0.0.1", "req-2").userAgent).toBeNull();
  });
});
