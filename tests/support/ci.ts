/**
 * Whether a run with this CI value is CI, where a suite must fail rather than skip for a missing
 * tool: any non-empty value other than "false" or "0", as CI systems set it to "true" or "1" (and
 * `.ci/run` keeps an inherited one).
 */
export function isCI(value: string | undefined): boolean {
  const normalised = value?.trim().toLowerCase() ?? "";
  return normalised !== "" && normalised !== "false" && normalised !== "0";
}

/** Whether this run is CI. */
export const inCI = isCI(process.env.CI);
