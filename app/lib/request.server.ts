import { BODY_TOO_LARGE, MAX_BODY_BYTES, readCappedBody } from "./http.server";
import { parseAddress, formatAddress } from "./ip";
import type { RequestMeta } from "../services/actor.server";

/**
 * The client's address: the socket peer, unless `trustProxy` hops are trusted, in which case
 * it is the address that many hops back in X-Forwarded-For (the rightmost entries are added by
 * our own proxies; anything further left is whatever the client claimed).
 */
export function clientAddress(forwardedFor: string | null | undefined, socketAddress: string, trustProxy: number): string {
  const peer = canonical(socketAddress);
  if (trustProxy <= 0) return peer;
  const forwarded = (forwardedFor ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  if (forwarded.length === 0) return peer;
  const hops = [...forwarded, peer];
  const candidate = hops[Math.max(hops.length - 1 - trustProxy, 0)]!;
  return parseAddress(candidate) ? canonical(candidate) : peer;
}

function canonical(address: string): string {
  const parsed = parseAddress(address);
  return parsed ? formatAddress(parsed) : address;
}

export function requestMeta(request: Request, ip: string, requestId: string): RequestMeta {
  return { ip, userAgent: request.headers.get("user-agent")?.slice(0, 512) ?? null, requestId };
}

/**
 * CSRF defence for cookie-authenticated writes: the Origin (or, failing that, Sec-Fetch-Site)
 * must say the request came from this site. A missing Origin on a non-browser client is allowed,
 * since such clients carry no ambient cookie of a victim.
 */
export function isSameOrigin(request: Request, configuredOrigin: string | undefined): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return request.headers.get("sec-fetch-site") !== "cross-site";
  if (origin === "null") return false;
  try {
    const from = new URL(origin);
    if (configuredOrigin) return from.origin === configuredOrigin;
    return from.host === new URL(request.url).host;
  } catch {
    return false;
  }
}

export function readPresentedKey(request: Request): string | null {
  const authorization = request.headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? match[1]! : authorization;
  }
  return request.headers.get("x-api-key")?.trim() || null;
}

const plainText = { "Content-Type": "text/plain; charset=utf-8" };

// The rest of the body is never read, so the connection cannot carry another request.
const formTooLarge = () =>
  new Response(`The form is larger than ${MAX_BODY_BYTES} bytes.`, { status: 413, headers: { ...plainText, Connection: "close" } });

const unreadableForm = () => new Response("The form could not be read. Reload the page and try again.", { status: 400, headers: plainText });

/**
 * A form post's fields, for every dashboard and sign-in action: at most MAX_BODY_BYTES (the REST
 * rule), counted as the body arrives and never buffered past it, so a huge anonymous form costs
 * nothing. Too large is a thrown 413; a body that is not a readable form (malformed multipart,
 * wrong encoding, a client gone midway) is the client's 400, not a 500.
 */
export async function readForm(request: Request): Promise<FormData> {
  const body = await readCappedBody(request).catch(() => {
    throw unreadableForm();
  });
  if (body === BODY_TOO_LARGE) throw formTooLarge();
  try {
    return await new Response(body as BodyInit | null, { headers: { "Content-Type": request.headers.get("content-type") ?? "" } }).formData();
  } catch {
    throw unreadableForm();
  }
}
