import { json, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useNavigation, useSearchParams } from "@remix-run/react";
import { Loader2, TriangleAlert } from "lucide-react";
import { z } from "zod";
import { fieldIds, FormField } from "../components/form-field";
import { Logo } from "../components/logo";
import { ThemeToggle } from "../components/theme";
import { Alert, AlertDescription } from "../components/ui/alert";
import { Button } from "../components/ui/button";
import { Card, CardContent, CardDescription, CardHeader } from "../components/ui/card";
import { Input } from "../components/ui/input";
import { storable } from "../lib/key-schemas";
import { isSameOrigin, readForm, requestMeta } from "../lib/request.server";
import { MAX_EMAIL_LENGTH } from "../services/auth.server";
import { isKeywardError } from "../services/errors.server";
import { MAX_PASSWORD_LENGTH } from "../services/passwords.server";
import { safeRedirect } from "../session.server";

export const meta: MetaFunction = () => [{ title: "Sign in · Keyward" }];

/** A throttled sign-in says when to try again, on the document response too. */
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : new Headers();
};

const loginForm = z.object({
  // No stored email can hold U+0000, and Postgres cannot compare text that does.
  email: z.string().trim().min(1, "Enter your email").max(MAX_EMAIL_LENGTH, `An email has at most ${MAX_EMAIL_LENGTH} characters`).refine(storable, "Enter a valid email address"),
  password: z.string().min(1, "Enter your password").max(MAX_PASSWORD_LENGTH, `A password has at most ${MAX_PASSWORD_LENGTH} characters`),
  redirectTo: z.string().optional(),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (await context.keyward.auth.fromRequest(request)) throw redirect("/keys");
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { keyward } = context;
  if (!isSameOrigin(request, keyward.config.origin)) throw new Response("Cross-site request refused", { status: 403 });
  const parsed = loginForm.safeParse(Object.fromEntries(await readForm(request)));
  if (!parsed.success) {
    const fieldErrors = z.flattenError(parsed.error).fieldErrors;
    // Too long is past what the fields may hold (422); empty or malformed is a form to fill in again (400).
    const tooLong = parsed.error.issues.some((issue) => issue.code === "too_big");
    return json({ error: null, fieldErrors }, { status: tooLong ? 422 : 400 });
  }
  const { email, password } = parsed.data;
  // Decided before anything is written: a hostile target goes to the default page, never to a 500 after the session exists.
  const redirectTo = safeRedirect(parsed.data.redirectTo, keyward.config.origin ?? new URL(request.url).origin);
  // Per address and per account from that address, checked before the password is even hashed.
  const throttle = await keyward.loginFailures.check(context.clientIp, email);
  if (throttle.blocked) {
    keyward.securityEvents.record({ kind: "login_locked", severity: "warning", clientIp: context.clientIp, details: { retryAfterSeconds: throttle.retryAfterSeconds } });
    return json(
      { error: `Too many failed sign-ins. Wait ${throttle.retryAfterSeconds} seconds, then try again.`, fieldErrors: {} },
      { status: 429, headers: { "Retry-After": String(throttle.retryAfterSeconds) } },
    );
  }
  try {
    const { user, cookie } = await keyward.auth.login(email, password, requestMeta(request, context.clientIp, context.requestId));
    await keyward.securityEvents.noteSignIn(user, context.clientIp);
    return redirect(redirectTo, { headers: { "Set-Cookie": cookie } });
  } catch (error) {
    if (isKeywardError(error) && error.code === "invalid_credentials") {
      keyward.loginFailures.recordFailure(context.clientIp, email);
      // Not the email: a password typed into the wrong field would end up in the log.
      keyward.securityEvents.record({ kind: "login_failed", severity: "warning", clientIp: context.clientIp });
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
  const submitting = navigation.state !== "idle" && navigation.formMethod?.toLowerCase() === "post";
  return (
    <main className="relative flex min-h-screen flex-col items-center justify-center bg-muted/40 px-4 py-12">
      <div className="absolute right-4 top-4">
        <ThemeToggle />
      </div>
      <div className="w-full max-w-sm space-y-6">
        <div className="flex flex-col items-center gap-2 text-center">
          <Logo className="text-xl" />
          <p className="text-sm text-muted-foreground">API key management</p>
        </div>
        <Card>
          <CardHeader className="space-y-1">
            <h1 className="text-xl font-semibold leading-none tracking-tight">Sign in</h1>
            <CardDescription>Use the email and password your Keyward admin gave you.</CardDescription>
          </CardHeader>
          <CardContent>
            <Form method="post" className="grid gap-4" noValidate>
              <input type="hidden" name="redirectTo" value={params.get("redirectTo") ?? ""} />
              {data?.error ? (
                <Alert variant="destructive">
                  <TriangleAlert className="h-4 w-4" aria-hidden />
                  <AlertDescription>{data.error}</AlertDescription>
                </Alert>
              ) : null}
              <FormField id="email" label="Email" errors={fieldErrors.email}>
                <Input {...fieldIds("email", fieldErrors.email)} name="email" type="email" autoComplete="email" placeholder="you@example.com" required autoFocus />
              </FormField>
              <FormField id="password" label="Password" errors={fieldErrors.password}>
                <Input {...fieldIds("password", fieldErrors.password)} name="password" type="password" autoComplete="current-password" required />
              </FormField>
              <Button type="submit" className="w-full" disabled={submitting}>
                {submitting ? <Loader2 className="animate-spin" aria-hidden /> : null}
                {submitting ? "Signing in…" : "Sign in"}
              </Button>
            </Form>
          </CardContent>
        </Card>
        <p className="px-4 text-center text-xs text-muted-foreground">No account? Ask an admin of this Keyward instance to add you.</p>
      </div>
    </main>
  );
}
