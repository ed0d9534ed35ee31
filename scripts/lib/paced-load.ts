import http from "node:http";

/**
 * An open-loop load generator for latency at a fixed rate: request i is due at start + i / rate,
 * whatever happened to the ones before it, and its latency is counted from that due time, not
 * from when it could be sent. So a stall shows in the latency of every request it delayed (no
 * "coordinated omission"), and the timer's own lateness counts against the server, never for it.
 *
 * autocannon's `overallRate` is not this: each connection sends its per-second quota back to back
 * at the start of every second (a burst at full speed, then silence), and its correction for
 * coordinated omission records a 20 ms answer as twenty samples of 20, 19, … 1 ms when the rate
 * exceeds 1 000 req/s. Both make a fixed-rate p99 read like the p99 of a saturated server.
 */
export interface PacedLoadOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Requests per second. */
  rate: number;
  seconds: number;
  /** Keep-alive connections available; requests beyond them wait (and that wait is latency). @default 64 */
  connections?: number;
}

export interface PacedLoadResult {
  rate: number;
  sent: number;
  /** Answers with a status other than 2xx, and transport errors. */
  errors: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export async function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections ?? 64 });
  const target = new URL(options.url);
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers = { ...options.headers, ...(body ? { "Content-Length": String(body.length) } : {}) };
  const total = Math.max(1, Math.round(options.rate * options.seconds));
  const intervalMs = 1000 / options.rate;
  const latencies = new Float64Array(total);
  let errors = 0;
  let finished = 0;

  const send = (index: number, due: number) =>
    new Promise<void>((resolve) => {
      const request = http.request({ agent, host: target.hostname, port: target.port, path: target.pathname + target.search, method: options.method ?? "GET", headers }, (response) => {
        if (response.statusCode === undefined || response.statusCode >= 300) errors++;
        response.resume();
        response.once("end", () => {
          latencies[index] = performance.now() - due;
          resolve();
        });
      });
      request.once("error", () => {
        errors++;
        latencies[index] = performance.now() - due;
        resolve();
      });
      request.end(body);
    });

  const pending: Promise<void>[] = [];
  const start = performance.now() + 5;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Everything that has fallen due is sent now, stamped with its own due time.
      while (sent < total && start + sent * intervalMs <= now) {
        const index = sent++;
        pending.push(send(index, start + index * intervalMs).then(() => void finished++));
      }
      if (sent < total) setTimeout(tick, Math.max(0, Math.min(1, start + sent * intervalMs - performance.now())));
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
  agent.destroy();

  const sorted = latencies.slice(0, finished).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { rate: options.rate, sent, errors, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: sorted[sorted.length - 1] ?? 0 };
}
