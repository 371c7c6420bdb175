import type { Level } from './pack-schema.js';

/** Operations at which a level fires. */
export function levelOperations(level: Level, threshold: number): number {
  return level.fraction * threshold;
}

/** Levels a total has reached: fraction × threshold ≤ total. */
export function levelsReached(total: number, threshold: number, levels: readonly Level[]): Level[] {
  return levels.filter((level) => levelOperations(level, threshold) <= total);
}
