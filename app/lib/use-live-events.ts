import { useRevalidator } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";

/** What the server streams (app/services/live.server.ts): ids only. Types this code does not know yet still arrive. */
export interface LiveMessage {
  type: string;
  keyId?: string;
  keyIds?: string[];
  userId?: string;
  [field: string]: unknown;
}

export type LiveStatus = "connecting" | "live" | "reconnecting";

/** Events arriving within this window cause one revalidation. */
export const REVALIDATE_DEBOUNCE_MS = 300;
const MAX_BACKOFF_MS = 30_000;

/** 1 s, 2 s, 4 s … up to 30 s, with up to 25 % jitter so many tabs do not return at the same moment. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(1000 * 2 ** attempt, MAX_BACKOFF_MS);
  return Math.round(base * (1 + random() * 0.25));
}

const KEY_PAGE = /^\/keys\/(key_[0-9A-Za-z]{20})\/?$/;
/** Pages that chart the usage of many keys (an API's, an identity's): the event names keys, not what they belong to. */
const USAGE_PAGES = [/^\/overview\/?$/, /^\/keys\/?$/, /^\/apis\/api_[0-9A-Za-z]{20}\/?$/, /^\/identities\/idt_[0-9A-Za-z]{20}\/?$/];

/**
 * Whether an event changes what the page at `pathname` shows, so the page's loaders are worth
 * running again. A key's page follows that key only; the overview, the keys list and the API and
 * identity pages follow everything (a flush names keys only, and the stream already narrows it to
 * the keys the user may see); other pages follow changes but not the (frequent) usage flushes.
 */
export function isRelevant(event: LiveMessage, pathname: string): boolean {
  if (event.type === "user.changed") return true;
  const keyPage = KEY_PAGE.exec(pathname);
  if (keyPage) {
    const id = keyPage[1]!;
    if (event.type === "key.changed") return event.keyId === id;
    if (event.type === "usage.flushed") return Array.isArray(event.keyIds) && event.keyIds.includes(id);
    return false;
  }
  if (USAGE_PAGES.some((page) => page.test(pathname))) return true;
  return event.type !== "usage.flushed";
}

/**
 * Keeps an EventSource open to `url` and re-runs the page's loaders (debounced) when a relevant
 * event arrives, and once after a reconnect (events may have been missed meanwhile). Reconnects by
 * itself with backoff; the returned status drives the "Live" / "Reconnecting…" indicator.
 */
export function useLiveEvents({ url = "/api/events", pathname, onEvent }: { url?: string; pathname: string; onEvent?: (event: LiveMessage) => void }): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const revalidator = useRevalidator();
  const latest = useRef({ revalidator, pathname, onEvent });
  latest.current = { revalidator, pathname, onEvent };

  useEffect(() => {
    let source: EventSource | null = null;
    let attempt = 0;
    let everOpened = false;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let revalidateTimer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;

    const revalidateSoon = () => {
      if (revalidateTimer) return;
      revalidateTimer = setTimeout(function run() {
        const { revalidator: current } = latest.current;
        // One at a time: a revalidation already running would be superseded, not joined.
        if (current.state !== "idle") {
          revalidateTimer = setTimeout(run, REVALIDATE_DEBOUNCE_MS);
          return;
        }
        revalidateTimer = undefined;
        current.revalidate();
      }, REVALIDATE_DEBOUNCE_MS);
    };

    const connect = () => {
      if (stopped) return;
      clearTimeout(retryTimer);
      source?.close();
      source = new EventSource(url);
      source.onopen = () => {
        setStatus("live");
        if (everOpened && attempt > 0) revalidateSoon();
        everOpened = true;
        attempt = 0;
      };
      source.onmessage = (message: MessageEvent<string>) => {
        let event: LiveMessage;
        try {
          event = JSON.parse(message.data) as LiveMessage;
        } catch {
          return;
        }
        if (typeof event?.type !== "string") return;
        latest.current.onEvent?.(event);
        if (isRelevant(event, latest.current.pathname)) revalidateSoon();
      };
      source.onerror = () => {
        // The browser's own retry does not back off and gives up on an HTTP error: manage it here.
        source?.close();
        source = null;
        setStatus("reconnecting");
        // A session that ended shows as a failing stream: one revalidation sends the page to sign-in.
        if (attempt === 2) revalidateSoon();
        retryTimer = setTimeout(connect, reconnectDelay(attempt++));
      };
    };

    const online = () => {
      attempt = 0;
      connect();
    };
    const offline = () => {
      source?.close();
      source = null;
      setStatus("reconnecting");
    };
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    connect();
    return () => {
      stopped = true;
      window.removeEventListener("online", online);
      window.removeEventListener("offline", offline);
      clearTimeout(retryTimer);
      clearTimeout(revalidateTimer);
      source?.close();
    };
  }, [url]);

  return status;
}
