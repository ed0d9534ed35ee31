/**
 * A progress bar for long script phases, on stderr (stdout stays for results).
 * On a terminal it redraws one line in place (at most ten times a second); otherwise (CI, a pipe,
 * a log file) it prints one line each time another 10 % is done, so logs stay short.
 */

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

export interface ProgressOptions {
  /** What is being counted, e.g. "keys". */
  unit: string;
  /** @default process.stderr */
  stream?: NodeJS.WriteStream;
  /** Redraw in place; @default stream.isTTY */
  interactive?: boolean;
  /** @default performance.now */
  now?: () => number;
}

export interface ProgressSummary {
  done: number;
  seconds: number;
  perSecond: number;
}

const count = new Intl.NumberFormat("en");

/** `1.5 s`, `2 min 05 s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, "0")} s`;
}

export function formatCount(value: number): string {
  return count.format(Math.round(value));
}

/** A per-second rate: whole numbers, but one decimal below 10 (a few days per second). */
export function formatRate(value: number): string {
  return value < 10 ? value.toFixed(1) : formatCount(value);
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly interactive: boolean;
  private readonly now: () => number;
  private readonly started: number;
  private done = 0;
  private lastDraw = -Infinity;
  private lastTenth = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly options: ProgressOptions,
  ) {
    this.stream = options.stream ?? process.stderr;
    this.interactive = options.interactive ?? Boolean(this.stream.isTTY);
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
  }

  /** Sets how many units are done so far. */
  update(done: number): void {
    this.done = Math.min(done, this.total);
    if (this.interactive) {
      const at = this.now();
      if (at - this.lastDraw < REDRAW_MS && this.done < this.total) return;
      this.lastDraw = at;
      this.stream.write(`\r${this.line()}\x1b[K`);
      return;
    }
    const tenth = this.total === 0 ? 10 : Math.floor((this.done / this.total) * 10);
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.stream.write(`${this.line()}\n`);
    }
  }

  /** Ends the bar with a summary line (count, time, rate) and returns the figures. */
  finish(): ProgressSummary {
    const seconds = (this.now() - this.started) / 1000;
    const perSecond = seconds > 0 ? this.done / seconds : 0;
    if (this.interactive) this.stream.write(`\r\x1b[K`);
    this.stream.write(`${this.label}: ${formatCount(this.done)} ${this.options.unit} in ${formatDuration(seconds)} (${formatRate(perSecond)} ${this.options.unit}/s)\n`);
    return { done: this.done, seconds, perSecond };
  }

  private line(): string {
    const fraction = this.total === 0 ? 1 : this.done / this.total;
    const filled = Math.round(fraction * BAR_WIDTH);
    const seconds = (this.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
    return (
      `${this.label} [${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ` +
      `${formatCount(this.done)}/${formatCount(this.total)} ${this.options.unit}, ${formatRate(rate)}/s, ETA ${this.done >= this.total ? "0 s" : formatDuration(eta)}`
    );
  }
}
