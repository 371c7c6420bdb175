import type { Level } from './pack-schema.js';

/** Operations at which a level fires. */
export function levelOperations(level: Level, threshold: number): number {
  return level.fraction * threshold;
}

/**
 * Levels a change of total from `before` to `after` crosses: before < fraction × threshold ≤ after.
 * As totals only grow, every level is crossed by exactly one of any sequence of increments.
 */
export function levelsCrossed(before: number, after: number, threshold: number, levels: readonly Level[]): Level[] {
  return levels.filter((level) => {
    const at = levelOperations(level, threshold);
    return before < at && at <= after;
  });
}

/** Levels a total has reached: fraction × threshold ≤ total. */
export function levelsReached(total: number, threshold: number, levels: readonly Level[]): Level[] {
  return levels.filter((level) => levelOperations(level, threshold) <= total);
}
