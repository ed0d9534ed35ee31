import { useEffect, useState } from "react";

/** "2d 03:04:05", "03:04:05", "04:05"; "0:00" once passed. */
export function formatCountdown(ms: number): string {
  if (ms <= 0) return "0:00";
  const total = Math.ceil(ms / 1000);
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (days > 0) return `${days}d ${pad(hours)}:${pad(minutes)}:${pad(seconds)}`;
  if (hours > 0) return `${hours}:${pad(minutes)}:${pad(seconds)}`;
  return `${minutes}:${pad(seconds)}`;
}

/**
 * Time left until `until`, ticking every second in the browser. `serverNow` (from the loader) fixes
 * the server's and the browser's clocks to each other, so a skewed laptop clock shows the truth.
 */
export function Countdown({ until, serverNow }: { until: string; serverNow: string }) {
  const target = Date.parse(until);
  const [remaining, setRemaining] = useState(() => target - Date.parse(serverNow));
  useEffect(() => {
    const skew = Date.parse(serverNow) - Date.now();
    const tick = () => setRemaining(target - (Date.now() + skew));
    tick();
    const timer = setInterval(tick, 1000);
    return () => clearInterval(timer);
  }, [target, serverNow]);
  return (
    <time dateTime={until} className="font-mono tabular-nums" data-testid="countdown">
      {formatCountdown(remaining)}
    </time>
  );
}
