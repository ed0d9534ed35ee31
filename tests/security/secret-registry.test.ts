import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { testConfig } from "../support/keyward";
import { findLeaks, runLeaks } from "../support/log-capture";
import { registeredSecrets, serverSecrets } from "../support/secrets";

/** A request log line carrying `value` the ways a client or a careless log call could. */
const linesWith = (value: string) => [
  JSON.stringify({ msg: "config", KEYWARD_SECRET: value }),
  JSON.stringify({ msg: "request", url: `/hook?secret=${encodeURIComponent(value)}&x=1` }),
  JSON.stringify({ msg: "request", body: new URLSearchParams({ secret: value }).toString() }),
];

describe("the run's secret registry", () => {
  it("is where the run-wide log scan looks: a vitest run names the file", () => {
    expect(process.env.KEYWARD_SECRETS_FILE).toMatch(/secrets\.ndjson$/);
  });

  it("learns the secrets testConfig hands the services, generated or given, and the scan finds each as typed, URL- and form-encoded", async () => {
    const given = serverSecrets();
    const previous = serverSecrets().KEYWARD_SECRET;
    const config = testConfig({ ...given, KEYWARD_SECRET_VERSION: "2", KEYWARD_PREVIOUS_SECRETS: `1:${previous}`, KEYWARD_ALERT_WEBHOOK_URL: "https://hooks.example.test/k", KEYWARD_ALERT_WEBHOOK_SECRET: "a webhook secret of this test" });
    const generated = testConfig().encryptionKey.toString("base64");
    const secrets = [given.KEYWARD_SECRET, given.KEYWARD_ENCRYPTION_KEY, previous, config.alertWebhook!.secret, generated];
    expect(registeredSecrets()).toEqual(expect.arrayContaining(secrets));
    for (const secret of secrets) {
      const leaks = await runLeaks(linesWith(secret).join("\n"));
      expect(leaks.map((leak) => leak.what), secret).toEqual(["a registered secret", "a registered secret", "a registered secret"]);
      for (const leak of leaks) expect(leak.masked).not.toContain(secret);
    }
  });

  it("finds one of thousands of secrets in a large log quickly, and nothing in a clean one", () => {
    const secrets = Array.from({ length: 3000 }, () => serverSecrets().KEYWARD_SECRET);
    const clean = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ level: 30, msg: "request", path: `/api/v1/keys?limit=20&cursor=c${i}`, userAgent: "Mozilla/5.0 (X11; Linux x86_64)" }));
    const started = performance.now();
    expect(findLeaks(clean.join("\n"), [], secrets)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(5_000);
    const leaky = [...clean.slice(0, 100), ...linesWith(secrets[1234]!)];
    expect(findLeaks(leaky.join("\n"), [], secrets).map((leak) => leak.line)).toEqual([101, 102, 103]);
  });

  it("is how tests make server secrets: none made by hand, where the scan would not learn them", () => {
    const files = ["tests", path.join("sdk", "test")]
      .flatMap((dir) => fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).map((file) => path.join(dir, file)))
      .filter((file) => file.endsWith(".ts") && ![path.join("tests", "support", "secrets.ts"), path.join("tests", "support", "keyward.ts")].includes(file));
    const byHand = files.filter((file) => /randomBytes\(\d+\)\.toString\("base64"\)/.test(fs.readFileSync(file, "utf8")));
    expect(byHand, "use serverSecrets() or testConfig() from tests/support").toEqual([]);
  });
});
