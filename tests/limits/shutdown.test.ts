import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../../app/services/actor.server";
import { cliEnvironment, type CliEnvironment } from "../cli/run-cli";
import { freePort } from "../support/redis";

/**
 * SIGTERM while requests are flowing: the server stops accepting, finishes what it has, flushes the
 * usage it holds in memory and exits 0 — every request that got an answer is counted in the database.
 */
let environment: CliEnvironment;
let key: string;
let keyId: string;

beforeAll(async () => {
  environment = await cliEnvironment();
  const keyward = await environment.open();
  try {
    const owner = await keyward.users.create(systemActor("test"), { email: "load@example.test", password: "load-test-password", role: "member" });
    const created = await keyward.keys.create(systemActor("test"), { name: "load", scopes: ["read"], ownerId: owner.id, rateLimit: { requests: 100_000, windowSeconds: 60 } });
    key = created.key;
    keyId = created.apiKey.id;
  } finally {
    await keyward.close();
  }
});

afterAll(async () => {
  await environment?.dispose();
});

function startServer(port: number): ChildProcess {
  return spawn(process.execPath, ["build/server.js"], {
    env: { ...process.env, ...environment.env, PORT: String(port), HOST: "127.0.0.1", KEYWARD_USAGE_FLUSH_MS: "60000", LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function waitUntilUp(url: string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && server.exitCode === null) {
    try {
      if ((await fetch(`${url}/api/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("server did not start");
}

describe("graceful shutdown under load", () => {
  it("counts every answered request after SIGTERM mid-burst, and exits 0", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = startServer(port);
    let output = "";
    server.stdout!.on("data", (chunk) => (output += chunk));
    server.stderr!.on("data", (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)));
    await waitUntilUp(url, server).catch((error: Error) => {
      throw new Error(`${error.message}:\n${output}`);
    });

    let answered = 0;
    let refused = 0;
    const statuses = new Set<number>();
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const response = await fetch(`${url}/api/v1/me`, { headers: { Authorization: `Bearer ${key}` } });
          await response.arrayBuffer();
          statuses.add(response.status);
          answered++;
          if (answered === 150) server.kill("SIGTERM");
        } catch {
          // Connection refused or reset once the server stopped accepting: never answered, never counted.
          refused++;
          if (refused > 20) stop = true;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(await exited, output).toBe(0);
    expect(answered).toBeGreaterThanOrEqual(150);
    expect([...statuses]).toEqual([200]);

    const keyward = await environment.open();
    try {
      const system = systemActor("test");
      const usage = await keyward.usageReports.series(system, keyId, { granularity: "minute" });
      expect(usage.totals.requests).toBe(answered);
      expect(usage.totals.success).toBe(answered);
      expect((await keyward.keys.get(system, keyId)).requestCount).toBe(answered);
    } finally {
      await keyward.close();
    }
  }, 180_000);
});
