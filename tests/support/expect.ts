import { expect } from "vitest";

/**
 * Every item of `items` passes `check`, and there is at least one: `[].every(…)` is true, so a list
 * that came back empty would otherwise pass the test without testing anything. On failure the
 * items that did not pass are shown.
 */
export function expectEvery<T>(items: readonly T[], check: (item: T) => unknown, what = "the list"): void {
  expect(items.length, `${what} is empty: every() of nothing proves nothing`).toBeGreaterThan(0);
  expect(
    items.filter((item) => !check(item)),
    `items of ${what} that fail the check`,
  ).toEqual([]);
}
