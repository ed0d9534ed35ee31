import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useNavigation, useSearchParams } from "@remix-run/react";
import { z } from "zod";
import { isSameOrigin, requestMeta } from "../lib/request.server";
import { isKeywardError } from "../services/errors.server";
import { safeRedirect } from "../session.server";

export const meta: MetaFunction = () => [{ title: "Sign in · Keyward" }];

const loginForm = z.object({
  email: z.string().trim().min(1, "Enter your email"),
  password: z.string().min(1, "Enter your password"),
  redirectTo: z.string().optional(),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (await context.keyward.auth.fromRequest(request)) throw redirect("/keys");
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { keyward } = context;
  if (!isSameOrigin(request, keyward.config.origin)) throw new Response("Cross-site request refused", { status: 403 });
  const parsed = loginForm.safeParse(Object.fromEntries(await request.formData()));
  if (!parsed.success) {
    return json({ error: null, fieldErrors: z.flattenError(parsed.error).fieldErrors }, { status: 400 });
  }
  try {
    const { cookie } = await keyward.auth.login(parsed.data.email, parsed.data.password, requestMeta(request, context.clientIp, context.requestId));
    return redirect(safeRedirect(parsed.data.redirectTo), { headers: { "Set-Cookie": cookie } });
  } catch (error) {
    if (isKeywardError(error) && error.code === "invalid_credentials") {
      return json({ error: error.message, fieldErrors: {} }, { status: 401 });
    }
    throw error;
  }
}

export default function Login() {
  const data = useActionData<typeof action>();
  const [params] = useSearchParams();
  const navigation = useNavigation();
  const fieldErrors: Partial<Record<string, string[]>> = data?.fieldErrors ?? {};
  return (
    <main className="flex min-h-screen items-center justify-center p-6">
      <Form method="post" className="w-full max-w-sm space-y-4">
        <h1 className="text-2xl font-semibold">Sign in to Keyward</h1>
        <input type="hidden" name="redirectTo" value={params.get("redirectTo") ?? ""} />
        <label className="block text-sm">
          Email
          <input name="email" type="email" autoComplete="email" required className="mt-1 w-full rounded border px-3 py-2" />
          {fieldErrors.email ? <span role="alert">{fieldErrors.email[0]}</span> : null}
        </label>
        <label className="block text-sm">
          Password
          <input name="password" type="password" autoComplete="current-password" required className="mt-1 w-full rounded border px-3 py-2" />
          {fieldErrors.password ? <span role="alert">{fieldErrors.password[0]}</span> : null}
        </label>
        {data?.error ? <p role="alert">{data.error}</p> : null}
        <button type="submit" disabled={navigation.state !== "idle"} className="w-full rounded bg-primary px-3 py-2 text-primary-foreground">
          Sign in
        </button>
      </Form>
    </main>
  );
}
