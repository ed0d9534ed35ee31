import { Link } from "@remix-run/react";
import { Timer } from "lucide-react";
import { Countdown } from "~/components/countdown";
import { Alert, AlertDescription, AlertTitle } from "~/components/ui/alert";

/** The countdown for a key that stops working within days, pointing at its replacement if it was rotated. */
export function ExpiryAlert({ expiresAt, rotatedTo, now }: { expiresAt: string; rotatedTo: string | null; now: string }) {
  return (
    <Alert variant="warning" data-testid="expiry-countdown">
      <Timer className="h-4 w-4" aria-hidden />
      <AlertTitle>
        {rotatedTo ? "Rotated: this key" : "This key"} stops working in <Countdown until={expiresAt} serverNow={now} />
      </AlertTitle>
      <AlertDescription className="text-muted-foreground">
        {rotatedTo ? (
          <>
            Its replacement is{" "}
            <Link to={`/keys/${rotatedTo}`} className="font-medium text-foreground underline underline-offset-4">
              {rotatedTo}
            </Link>
            . Deploy it before the grace period ends.
          </>
        ) : (
          "Rotate it to issue a replacement with the same settings."
        )}
      </AlertDescription>
    </Alert>
  );
}
