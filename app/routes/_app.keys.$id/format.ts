/** Counts as the key page shows them, e.g. 1,234. */
export const numberFormat = new Intl.NumberFormat("en");
