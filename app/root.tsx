import type { LinksFunction, MetaFunction } from "@remix-run/node";
import { Links, Meta, Outlet, Scripts, ScrollRestoration } from "@remix-run/react";
import { createContext, useContext } from "react";
import { z } from "zod";
import { RouteErrorBoundary } from "./components/error-boundary";
import { themeScript } from "./components/theme";
import { Toaster } from "./components/ui/sonner";
import { TooltipProvider } from "./components/ui/tooltip";
import stylesheet from "./tailwind.css";

// In the browser, zod's JIT would probe `new Function("")` — an eval the CSP refuses and reports.
// The server keeps the JIT (no CSP applies there).
if (typeof document !== "undefined") z.config({ jitless: true });

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.ico" },
];

export const meta: MetaFunction = () => [{ title: "Keyward" }];

/**
 * The Content-Security-Policy nonce of this response, provided by entry.server.tsx. Empty in the
 * browser, which hides nonces from the DOM; scripts that already ran do not need it again.
 */
export const CspNonce = createContext<string | undefined>(undefined);

export function Layout({ children }: { children: React.ReactNode }) {
  const nonce = useContext(CspNonce);
  return (
    // The head script sets the theme class before paint, so React must not fight it on hydration.
    <html lang="en" suppressHydrationWarning>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <script nonce={nonce} suppressHydrationWarning dangerouslySetInnerHTML={{ __html: themeScript }} />
        <Meta />
        <Links />
      </head>
      <body className="min-h-screen">
        <TooltipProvider delayDuration={200}>{children}</TooltipProvider>
        <Toaster position="bottom-right" closeButton />
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary() {
  return <RouteErrorBoundary />;
}
