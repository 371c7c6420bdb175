import type { HardwareSplit, Measure, TenantBooks } from '@flopwatch/contracts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Words for a measure, as alerts and docs say it. */
export const MEASURE_WORDS: Readonly<Record<Measure, string>> = {
  controlledTier1: 'operations on controlled (3A090) hardware in Tier 1 countries',
  controlled: 'operations on controlled (3A090) hardware in any country',
  all: 'operations on any hardware',
};

export const emptySplit = (): HardwareSplit => ({ all: 0, controlled: 0, controlledTier1: 0, byTier: {}, byCountry: {} });

/** Adds splits together. */
export function sumSplits(splits: Iterable<HardwareSplit>): HardwareSplit {
  const out = emptySplit();
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  for (const s of splits) {
    out.all += s.all;
    out.controlled += s.controlled;
    out.controlledTier1 += s.controlledTier1;
    add(out.byTier, s.byTier);
    add(out.byCountry, s.byCountry);
  }
  return out;
}

/** The operations of a split a measure counts. */
export const measured = (split: HardwareSplit, measure: Measure): number => split[measure];

/** Operations of a measure in the trailing `days` whole days ending with the day of `asOfMs`. */
export function trailingOperations(books: TenantBooks, measure: Measure, days: number, asOfMs: number): number {
  const last = Math.floor(asOfMs / DAY_MS);
  let sum = 0;
  for (const [idx, v] of Object.entries(books.days[measure])) {
    const i = Number(idx);
    if (i > last - days && i <= last) sum += v;
  }
  return sum;
}

/**
 * Operations per day of a measure over the trailing burn window ending at `asOfMs`: the trailing 24
 * hour buckets when the window is one day, else whole days divided by the window. Measured at the
 * evaluation's event time, not the tenant's own latest usage, so a tenant that stops burns less and
 * less as time moves on, and nothing once the window has passed.
 */
export function burnPerDay(books: TenantBooks, measure: Measure, windowDays: number, asOfMs: number): number {
  if (windowDays <= 1) {
    const last = Math.floor(asOfMs / HOUR_MS);
    let sum = 0;
    for (const [idx, v] of Object.entries(books.hours[measure])) {
      const i = Number(idx);
      if (i > last - 24 && i <= last) sum += v;
    }
    return sum;
  }
  return trailingOperations(books, measure, windowDays, asOfMs) / windowDays;
}

/**
 * The one projected-crossing function (rules, the API's usage projections, the exposure metrics):
 * when a subject at `observed` operations burning `perDay` reaches `target`, from `asOfMs`; null when
 * already reached or not burning.
 */
export function projectCrossing(target: number, observed: number, perDay: number, asOfMs: number): { at: string; days: number } | null {
  const remaining = target - observed;
  if (!(remaining > 0) || !(perDay > 0)) return null;
  const days = remaining / perDay;
  const ms = asOfMs + days * DAY_MS;
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? { at: new Date(ms).toISOString(), days } : null;
}

/** The event time an evaluation is measured at (contracts' evaluationTime; the store's snapshots use it). */
export { evaluationTime } from '@flopwatch/contracts';
