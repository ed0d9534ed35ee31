import { type z } from "zod";
import { withApiKey, type KeyHandlerArgs } from "~/lib/api-key-middleware.server";
import type { meSchema } from "~/lib/api-schemas";
import { apiRoute, json } from "~/lib/http.server";

/** The calling key, its owner and its effective scopes. Shared with the benchmark's unauthenticated twin (api.v1.bench.me.ts). */
export async function me({ context, principal, actor }: Pick<KeyHandlerArgs, "context" | "principal" | "actor">): Promise<Response> {
  const apiKey = await context.keyward.keys.own(actor);
  return json({ apiKey, owner: principal.owner, scopes: principal.scopes } satisfies z.input<typeof meSchema>);
}

const route = apiRoute({ GET: withApiKey({ operation: "me" }, me) });
export const loader = route.loader;
export const action = route.action;
