import type { Keyward } from "./services/keyward.server";

/** What the HTTP server hands every loader, action and resource route. */
export interface KeywardLoadContext {
  keyward: Keyward;
  /** The client's address (socket peer, or X-Forwarded-For per KEYWARD_TRUST_PROXY). */
  clientIp: string;
  requestId: string;
  /** This response's Content-Security-Policy nonce, for the document's inline scripts. */
  cspNonce?: string;
}

declare module "@remix-run/node" {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AppLoadContext extends KeywardLoadContext {}
}
