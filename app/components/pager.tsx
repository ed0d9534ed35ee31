import { Link, useSearchParams } from "@remix-run/react";
import { ChevronRight } from "lucide-react";
import { Button } from "~/components/ui/button";
import { cn } from "~/lib/utils";

/**
 * Links through a list paged by a `cursor` in the URL, keeping its other parameters (the filters):
 * back to the newest page once paged, and on to older entries while there are more.
 */
export function Pager({
  pathname,
  nextCursor,
  paged,
  olderLabel,
  olderKeepsScroll = false,
  className,
}: {
  pathname: string;
  nextCursor: string | null;
  /** Whether this page was reached by a cursor. */
  paged: boolean;
  olderLabel: string;
  /** Whether following "older" keeps the scroll position: for a list in the middle of a page rather than the page itself. */
  olderKeepsScroll?: boolean;
  className?: string;
}) {
  const [params] = useSearchParams();
  const older = new URLSearchParams(params);
  if (nextCursor) older.set("cursor", nextCursor);
  const newest = new URLSearchParams(params);
  newest.delete("cursor");
  return (
    <div className={cn("flex items-center justify-between", className)}>
      {paged ? (
        <Button variant="ghost" size="sm" asChild>
          <Link to={`${pathname}?${newest.toString()}`} preventScrollReset>
            Back to newest
          </Link>
        </Button>
      ) : (
        <span />
      )}
      {nextCursor ? (
        <Button variant="outline" size="sm" asChild>
          <Link to={`${pathname}?${older.toString()}`} preventScrollReset={olderKeepsScroll}>
            {olderLabel} <ChevronRight aria-hidden />
          </Link>
        </Button>
      ) : null}
    </div>
  );
}
