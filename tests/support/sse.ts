import type { LiveEvent } from "../../app/services/live.server";

/** Reading Server-Sent Events in tests as EventSource would: message by message, with waits that poll. */

/** One Server-Sent Events message: its `event:` name (default "message"), its data, a comment, or a `retry:` hint (ms). */
export interface SseMessage {
  event: string;
  data: string | null;
  comment: string | null;
  retry: number | null;
}

/** Reads an SSE body message by message, as EventSource would. */
export class SseReader {
  readonly messages: SseMessage[] = [];
  ended = false;
  private buffer = "";
  private waiters: (() => void)[] = [];

  constructor(body: ReadableStream<Uint8Array>) {
    void this.pump(body.getReader());
  }

  private async pump(reader: ReadableStreamDefaultReader<Uint8Array>) {
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf("\n\n")) !== -1) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          const message: SseMessage = { event: "message", data: null, comment: null, retry: null };
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) message.comment = line.slice(1).trim();
            else if (line.startsWith("event: ")) message.event = line.slice(7);
            else if (line.startsWith("retry: ")) message.retry = Number(line.slice(7));
            else if (line.startsWith("data: ")) message.data = (message.data === null ? "" : `${message.data}\n`) + line.slice(6);
          }
          this.messages.push(message);
        }
        this.wake();
      }
    } catch {
      // Aborted by the test.
    }
    this.ended = true;
    this.wake();
  }

  private wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** The data events (JSON) received so far. */
  get events(): LiveEvent[] {
    return this.messages.filter((m) => m.event === "message" && m.data !== null).map((m) => JSON.parse(m.data!) as LiveEvent);
  }

  /** Waits for the `ready` event the server sends once the stream is subscribed. */
  ready(): Promise<void> {
    return this.until(() => this.messages.some((m) => m.event === "ready"), "the ready event");
  }

  async until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
}

export async function openStream(url: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { Accept: "text/event-stream", ...headers }, signal: controller.signal });
  const reader = response.ok && response.body ? new SseReader(response.body) : null;
  return { response, reader, close: () => controller.abort() };
}
