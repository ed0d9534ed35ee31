import { systemActor, keyActor, type Actor } from "~/services/actor.server";
import type { ApiKeyPrincipal } from "~/lib/api-key-middleware.server";
import { apiRoute, toProblem, unknownEndpoint, type ApiArgs } from "~/lib/http.server";
import { parseAddress } from "~/lib/ip";
import { effectiveScopes } from "~/lib/scopes";
import type { Keyward } from "~/services/keyward.server";
import { me } from "./api.v1.me";

/**
 * Benchmarks only (scripts/bench/rest.ts): GET /api/v1/me's own handler WITHOUT the API-key
 * middleware, for the one key KEYWARD_BENCH_KEY_ID names, to loopback clients only. Anywhere
 * else, and whenever that variable is unset, it is the same 404 as any unknown API path.
 */
const principals = new Map<string, Promise<{ principal: ApiKeyPrincipal; actor: Actor }>>();

function benchPrincipal(keyward: Keyward, keyId: string) {
  let found = principals.get(keyId);
  if (!found) {
    found = (async () => {
      const system = systemActor("bench");
      const key = await keyward.keys.get(system, keyId);
      const owner = await keyward.users.get(system, key.ownerId);
      const scopes = effectiveScopes(key.scopes, owner.role);
      const principal = { keyId, keyName: key.name, owner: { id: owner.id, email: owner.email, role: owner.role }, scopes };
      return { principal, actor: keyActor({ id: keyId, ownerId: owner.id, ownerRole: owner.role, scopes, allowedIps: key.allowedIps, rateLimit: key.rateLimit, expiresAt: key.expiresAt }) };
    })();
    principals.set(keyId, found);
  }
  return found;
}

const isLoopback = (ip: string) => {
  const address = parseAddress(ip);
  return address !== null && (address.version === 4 ? address.value >> 24n === 127n : address.value === 1n);
};

const route = apiRoute({
  GET: async ({ context }) => me({ context, ...(await benchPrincipal(context.keyward, context.keyward.config.benchKeyId!)) }),
});

async function bench(args: ApiArgs): Promise<Response> {
  const { request, context } = args;
  if (!context.keyward.config.benchKeyId || !isLoopback(context.clientIp)) return toProblem(unknownEndpoint(request), context.requestId);
  return route.loader(args);
}

export const loader = bench;
export const action = bench;
