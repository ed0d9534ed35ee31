import { describe, expect, it } from "vitest";
import { formText, parseAllowedIps, parseExpiry, parseExpiryChange, parseExpiryDate, parseRateLimit } from "../../app/lib/key-form.server";

const form = (fields: Record<string, string>) => {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  return data;
};

const NOW = new Date("2030-06-15T12:00:00Z");
const CREATE_RATE_LIMIT = { requests: "rateLimitRequests", windowSeconds: "rateLimitWindow" };

describe("formText", () => {
  it("is a field's text, and empty for a missing field or a file", () => {
    const data = form({ name: "billing" });
    data.append("upload", new Blob(["x"]), "x.txt");
    expect(formText(data, "name")).toBe("billing");
    expect(formText(data, "missing")).toBe("");
    expect(formText(data, "upload")).toBe("");
  });
});

describe("parseExpiryDate", () => {
  it("is the end of the picked day in the browser's time zone", () => {
    expect(parseExpiryDate(form({ expiresOn: "2031-06-30", tzOffset: "0" }))).toEqual({ ok: true, value: "2031-06-30T23:59:59.000Z" });
    // getTimezoneOffset is minutes behind UTC: UTC−5 is 300, so its day ends five hours later in UTC.
    expect(parseExpiryDate(form({ expiresOn: "2031-06-30", tzOffset: "300" }))).toEqual({ ok: true, value: "2031-07-01T04:59:59.000Z" });
    expect(parseExpiryDate(form({ expiresOn: "2031-06-30", tzOffset: "-120" }))).toEqual({ ok: true, value: "2031-06-30T21:59:59.000Z" });
  });

  it.each(["-841", "841", "1e9", "1.5", "soon", ""])("reads the offset %j as UTC", (tzOffset) => {
    expect(parseExpiryDate(form({ expiresOn: "2031-06-30", tzOffset }))).toEqual({ ok: true, value: "2031-06-30T23:59:59.000Z" });
  });

  it.each(["", "tomorrow", "30/06/2031", "2031-6-30", "2031-06-30T00:00", " 2031-06-30"])("refuses %j as a date", (expiresOn) => {
    expect(parseExpiryDate(form({ expiresOn, tzOffset: "0" }))).toEqual({ ok: false, errors: { expiresOn: ["Pick the date the key stops working"] } });
  });
});

describe("parseExpiry (the create form's choice)", () => {
  it("reads a preset as a number of days, and never as null", () => {
    expect(parseExpiry(form({ expiry: "90" }), NOW)).toEqual({ ok: true, value: { expiresInDays: 90 } });
    expect(parseExpiry(form({ expiry: "never", expiresOn: "2031-06-30" }), NOW)).toEqual({ ok: true, value: { expiresAt: null } });
  });

  it("reads a custom date still ahead", () => {
    expect(parseExpiry(form({ expiry: "custom", expiresOn: "2030-06-15", tzOffset: "0" }), NOW)).toEqual({ ok: true, value: { expiresAt: "2030-06-15T23:59:59.000Z" } });
  });

  it.each(["2030-06-14", "2000-01-01"])("refuses the past date %s", (expiresOn) => {
    expect(parseExpiry(form({ expiry: "custom", expiresOn, tzOffset: "0" }), NOW)).toEqual({ ok: false, errors: { expiresOn: ["Pick a date in the future"] } });
  });

  it("refuses today once it has ended in the browser's time zone", () => {
    // 12:00 UTC is already the next day at UTC+14 (offset −840): the 15th ended at 09:59:59 UTC.
    expect(parseExpiry(form({ expiry: "custom", expiresOn: "2030-06-15", tzOffset: "-840" }), NOW)).toEqual({ ok: false, errors: { expiresOn: ["Pick a date in the future"] } });
  });

  it("refuses a custom choice without a readable date under the date field", () => {
    expect(parseExpiry(form({ expiry: "custom", expiresOn: "someday" }), NOW)).toEqual({ ok: false, errors: { expiresOn: ["Pick the date the key stops working"] } });
  });

  it.each(["", "-1", "1.5", "forever", " 30"])("refuses the choice %j", (expiry) => {
    expect(parseExpiry(form({ expiry }), NOW)).toEqual({ ok: false, errors: { expiry: ["Choose when the key expires"] } });
  });
});

describe("parseExpiryChange (the key page's editor)", () => {
  it("is null with never ticked, whatever the date says", () => {
    expect(parseExpiryChange(form({ never: "on", expiresOn: "nonsense" }))).toEqual({ ok: true, value: null });
  });

  it("is the picked date otherwise, past or not: the key service judges the range", () => {
    expect(parseExpiryChange(form({ never: "off", expiresOn: "2000-01-01", tzOffset: "0" }))).toEqual({ ok: true, value: "2000-01-01T23:59:59.000Z" });
    expect(parseExpiryChange(form({ expiresOn: "" }))).toEqual({ ok: false, errors: { expiresOn: ["Pick the date the key stops working"] } });
  });
});

describe("parseRateLimit", () => {
  const parse = (requests: string, window: string) => parseRateLimit(form({ rateLimitRequests: requests, rateLimitWindow: window }), CREATE_RATE_LIMIT);

  it("reads two whole numbers, around spaces", () => {
    expect(parse("1000", "60")).toEqual({ ok: true, value: { requests: 1000, windowSeconds: 60 } });
    expect(parse(" 5 ", "1")).toEqual({ ok: true, value: { requests: 5, windowSeconds: 1 } });
  });

  it("leaves ranges to the schema", () => {
    expect(parse("0", "86401")).toEqual({ ok: true, value: { requests: 0, windowSeconds: 86_401 } });
  });

  it("is null (the server's default) with both fields empty or missing", () => {
    expect(parse("", "  ")).toEqual({ ok: true, value: null });
    expect(parseRateLimit(form({}), CREATE_RATE_LIMIT)).toEqual({ ok: true, value: null });
  });

  it("asks for the other half of the pair", () => {
    expect(parse("100", "")).toEqual({ ok: false, errors: { rateLimitWindow: ["Give the window too, or clear both fields"] } });
    expect(parse("", "60")).toEqual({ ok: false, errors: { rateLimitRequests: ["Give the number of requests too, or clear both fields"] } });
  });

  it.each(["-1", "1.5", "1e3", "ten", "0x10"])("refuses %j as a whole number, under its own field", (bad) => {
    expect(parse(bad, "60")).toEqual({ ok: false, errors: { rateLimitRequests: ["Enter a whole number"] } });
    expect(parse("100", bad)).toEqual({ ok: false, errors: { rateLimitWindow: ["Enter a whole number of seconds"] } });
  });

  it("keys its errors by the field names it is given", () => {
    expect(parseRateLimit(form({ requests: "ten", windowSeconds: "" }), { requests: "requests", windowSeconds: "windowSeconds" })).toEqual({
      ok: false,
      errors: { requests: ["Enter a whole number"], windowSeconds: ["Give the window too, or clear both fields"] },
    });
  });
});

describe("parseAllowedIps", () => {
  it("is empty for an empty field", () => {
    expect(parseAllowedIps(form({ allowedIps: " \n\n" }))).toEqual({ ok: true, value: [] });
    expect(parseAllowedIps(form({}))).toEqual({ ok: true, value: [] });
  });

  it("normalizes entries and drops duplicates and blank lines", () => {
    expect(parseAllowedIps(form({ allowedIps: "203.0.113.7\r\n\n 10.0.0.0/8 \n203.0.113.7/32\n::ffff:10.1.2.3" }))).toEqual({ ok: true, value: ["203.0.113.7", "10.0.0.0/8", "10.1.2.3"] });
  });

  it("names each bad line by its number, blank lines counted", () => {
    expect(parseAllowedIps(form({ allowedIps: "127.0.0.1\n\nnot-an-ip\n10.0.0.1/8" }))).toEqual({
      ok: false,
      errors: { allowedIps: ['Line 3: "not-an-ip" is not an IPv4 or IPv6 address', 'Line 4: "10.0.0.1/8" has host bits set; the network is 10.0.0.0/8'] },
    });
  });
});
