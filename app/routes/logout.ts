import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { isSameOrigin, requestMeta } from "../lib/request.server";

export async function action({ request, context }: ActionFunctionArgs) {
  const { keyward } = context;
  if (!isSameOrigin(request, keyward.config.origin)) throw new Response("Cross-site request refused", { status: 403 });
  const session = await keyward.auth.fromRequest(request);
  const cookie = await keyward.auth.logout(session, requestMeta(request, context.clientIp, context.requestId));
  return redirect("/login", { headers: { "Set-Cookie": cookie } });
}

export const loader = () => redirect("/");
