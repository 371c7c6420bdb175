/** Totals are kept as integers of this many operations, so sums are exact and order-independent. */
export const OPS_PER_UNIT = 1e12;

/** Operations → tera-operations per millisecond, the rate the apply script multiplies by counted time. */
export const teraOpsPerMs = (operations: number, durationMs: number): number => (durationMs > 0 ? operations / OPS_PER_UNIT / durationMs : 0);

/**
 * The tera-operations a counted portion of an interval contributes: exactly the arithmetic the apply
 * script does (IEEE doubles, round half up), so an independent computation can reproduce totals to
 * the unit.
 */
export const countedTeraOps = (portionMs: number, rate: number): number => Math.floor(portionMs * rate + 0.5);

export const teraToOps = (tera: number): number => tera * OPS_PER_UNIT;
