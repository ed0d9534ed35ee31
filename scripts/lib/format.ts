/** Plain-text output for terminals: aligned columns, short dates. */

/** Lines of left-aligned columns under an upper-case header. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd();
  return [line(headers.map((header) => header.toUpperCase())), ...rows.map(line)].join("\n");
}

/** `2026-11-25 14:03 UTC`, or the fallback for a missing date. */
export function shortDate(iso: string | null, fallback = "—"): string {
  return iso ? `${iso.slice(0, 16).replace("T", " ")} UTC` : fallback;
}

/** Writes JSON for other programs to read. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Named rate limits in the syntax `--ratelimit` takes (`requests=10/1s, daily=10000/86400s`), or the fallback. */
export function namedLimits(limits: readonly { name: string; limit: number; durationSeconds: number }[], fallback = "none"): string {
  return limits.length === 0 ? fallback : limits.map((limit) => `${limit.name}=${limit.limit}/${limit.durationSeconds}s`).join(", ");
}
