import { describe, expect, it } from 'vitest';
import { levelText } from '../web/src/format.js';

describe('levelText: a case level as its rule means it', () => {
  it.each([
    ['a fraction of a threshold', { rule: 'structuring', level: 0.9, levelBasis: { kind: 'fraction', fraction: 0.9 } as const, observedOperations: 9.12e25 }, '90 % · 9.12 × 10²⁵'],
    ['a velocity band', { rule: 'velocity', level: 4, levelBasis: { kind: 'band', band: 4, withinDays: 7, daysToCross: 5.04 } as const, observedOperations: 9e25 }, 'band 4 (≤ 7 d) · crossing in 5.0 d'],
    ['H100-equivalents held over a limit', { rule: 'large-untrusted-cluster', level: 1, levelBasis: { kind: 'limit', quantity: 'h100e', observed: 2048.4, limit: 1699 } as const, observedOperations: 1e24 }, '2048 of 1699 H100e'],
    ['a velocity alert of schema version 1 (no basis)', { rule: 'velocity', level: 3, observedOperations: 9e25 }, 'band 3'],
  ])('%s', (_, c, expected) => {
    expect(levelText(c)).toBe(expected);
  });
});
