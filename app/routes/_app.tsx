import { json, type LoaderFunctionArgs } from "@remix-run/node";
import { Form, NavLink, Outlet, useLoaderData, useLocation } from "@remix-run/react";
import { BookOpen, Boxes, Fingerprint, KeyRound, LayoutDashboard, LogOut, Menu, ScrollText, ShieldAlert, UserCog, Users, type LucideIcon } from "lucide-react";
import { useEffect, useState } from "react";
import { LiveIndicator } from "~/components/live-indicator";
import { Logo } from "~/components/logo";
import { ThemeToggle } from "~/components/theme";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Sheet, SheetContent, SheetDescription, SheetTitle, SheetTrigger } from "~/components/ui/sheet";
import type { Role } from "~/lib/scopes";
import { useLiveEvents, type LiveStatus } from "~/lib/use-live-events";
import { cn } from "~/lib/utils";
import { requireUser } from "~/session.server";

/** The signed-in shell: navigation, live status, who is signed in, theme and sign-out around every dashboard page. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { user, caller } = await requireUser(request, context);
  const openAlerts = user.role === "admin" ? await caller.security.openAlertCount() : null;
  return json({ user: { email: user.email, role: user.role }, openAlerts });
}

type ShellUser = { email: string; role: Role };

interface NavItem {
  to: string;
  label: string;
  icon: LucideIcon;
  badge?: number | null;
  reloadDocument?: boolean;
}

function navSections(user: ShellUser, openAlerts: number | null): { label: string | null; items: NavItem[] }[] {
  const sections: { label: string | null; items: NavItem[] }[] = [
    {
      label: null,
      items: [
        { to: "/overview", label: "Overview", icon: LayoutDashboard },
        { to: "/keys", label: "API keys", icon: KeyRound },
      ],
    },
    {
      label: "Your APIs",
      items: [
        { to: "/apis", label: "APIs", icon: Boxes },
        { to: "/identities", label: "Identities", icon: Fingerprint },
      ],
    },
  ];
  if (user.role === "admin") {
    sections.push({
      label: "Administration",
      items: [
        { to: "/users", label: "Users", icon: Users },
        { to: "/audit", label: "Audit log", icon: ScrollText },
        { to: "/security", label: "Security", icon: ShieldAlert, badge: openAlerts },
      ],
    });
  }
  sections.push({
    label: "You",
    items: [
      { to: "/account", label: "Account", icon: UserCog },
      // The API reference is a page of its own, outside this shell.
      { to: "/docs/api", label: "API docs", icon: BookOpen, reloadDocument: true },
    ],
  });
  return sections;
}

function Navigation({ user, openAlerts, onNavigate }: { user: ShellUser; openAlerts: number | null; onNavigate?: () => void }) {
  return (
    <nav aria-label="Main" className="grid gap-5">
      {navSections(user, openAlerts).map((section) => (
        <div key={section.label ?? "main"} className="grid gap-1">
          {section.label ? <p className="px-3 pb-1 text-xs font-medium uppercase tracking-wider text-muted-foreground/80">{section.label}</p> : null}
          {section.items.map(({ to, label, icon: Icon, badge, reloadDocument }) => (
            <NavLink
              key={to}
              to={to}
              reloadDocument={reloadDocument}
              onClick={onNavigate}
              className={({ isActive }) =>
                cn(
                  "flex items-center gap-3 rounded-md px-3 py-2 text-sm font-medium transition-colors focus-visible:outline-none focus-visible:ring-1 focus-visible:ring-ring",
                  isActive ? "bg-accent text-accent-foreground" : "text-muted-foreground hover:bg-accent/60 hover:text-foreground",
                )
              }
            >
              <Icon className="h-4 w-4" aria-hidden />
              {label}
              {badge ? (
                <Badge variant="danger" className="ml-auto h-5 min-w-5 justify-center px-1.5 tabular-nums" aria-label={`${badge} open alerts`}>
                  {badge > 99 ? "99+" : badge}
                </Badge>
              ) : null}
            </NavLink>
          ))}
        </div>
      ))}
    </nav>
  );
}

function Account({ user }: { user: ShellUser }) {
  return (
    <div className="space-y-3">
      <div className="flex items-center gap-3">
        <span aria-hidden className="flex h-8 w-8 shrink-0 items-center justify-center rounded-full bg-primary/10 text-sm font-semibold uppercase text-foreground">
          {user.email.charAt(0)}
        </span>
        <div className="min-w-0">
          <p className="truncate text-sm font-medium" title={user.email} data-testid="signed-in-email">
            {user.email}
          </p>
          <Badge variant={user.role === "admin" ? "default" : "secondary"} className="mt-0.5 capitalize">
            {user.role}
          </Badge>
        </div>
      </div>
      <Form method="post" action="/logout">
        <Button type="submit" variant="outline" size="sm" className="w-full">
          <LogOut aria-hidden /> Sign out
        </Button>
      </Form>
    </div>
  );
}

export default function AppShell() {
  const { user, openAlerts } = useLoaderData<typeof loader>();
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();
  useEffect(() => setMenuOpen(false), [location.pathname]);
  const live: LiveStatus = useLiveEvents({ pathname: location.pathname });

  return (
    <div className="min-h-screen">
      <aside className="fixed inset-y-0 left-0 z-30 hidden w-60 flex-col border-r bg-muted/40 md:flex">
        <div className="flex h-14 items-center justify-between border-b px-4">
          <Logo />
          <ThemeToggle />
        </div>
        <div className="flex-1 overflow-y-auto p-3">
          <Navigation user={user} openAlerts={openAlerts} />
        </div>
        <div className="px-4 pb-3">
          <LiveIndicator status={live} />
        </div>
        <div className="border-t p-4">
          <Account user={user} />
        </div>
      </aside>

      <div className="flex min-h-screen min-w-0 flex-col md:pl-60">
        <header className="sticky top-0 z-30 flex h-14 items-center gap-2 border-b bg-background/95 px-4 backdrop-blur supports-[backdrop-filter]:bg-background/60 md:hidden">
          <Sheet open={menuOpen} onOpenChange={setMenuOpen}>
            <SheetTrigger asChild>
              <Button variant="ghost" size="icon" aria-label="Open navigation">
                <Menu />
              </Button>
            </SheetTrigger>
            <SheetContent>
              <SheetTitle>
                <Logo />
              </SheetTitle>
              <SheetDescription className="sr-only">Navigation and account</SheetDescription>
              <div className="flex-1">
                <Navigation user={user} openAlerts={openAlerts} onNavigate={() => setMenuOpen(false)} />
              </div>
              <Account user={user} />
            </SheetContent>
          </Sheet>
          <Logo />
          <div className="ml-auto flex items-center gap-2">
            <LiveIndicator status={live} />
            <ThemeToggle />
          </div>
        </header>
        <main className="flex-1 px-4 py-6 sm:px-6 lg:px-8 lg:py-8">
          <div className="mx-auto w-full max-w-6xl">
            <Outlet />
          </div>
        </main>
      </div>
    </div>
  );
}
