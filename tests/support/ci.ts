/**
 * Whether this run is CI, where a suite must fail rather than skip for a missing tool. Any non-empty
 * CI other than "false" or "0" counts, as most CI systems set it to "true" or "1".
 */
export const inCI = Boolean(process.env.CI) && !["false", "0"].includes(process.env.CI!.trim().toLowerCase());
