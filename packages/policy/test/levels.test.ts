import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { levelsCrossed, levelsReached, type Level } from '../src/index.js';
import { pack } from './fixtures.js';

const T = 1e26;
const fractions = (levels: Level[]) => levels.map((l) => l.fraction);

describe('levelsCrossed', () => {
  it.each([
    [0, 0.09e26, []],
    [0, 0.1e26, [0.1]],
    [0.1e26, 0.2e26, []],
    [0.2e26, 0.85e26, [0.25, 0.5, 0.8]],
    [0.85e26, 1.5e26, [0.9, 1]],
    [1.5e26, 2e26, []],
    [0.5e26, 0.4e26, []],
  ])('from %s to %s crosses %j', (before, after, expected) => {
    expect(fractions(levelsCrossed(before, after, T, pack.levels))).toEqual(expected);
  });

  it('crosses each level exactly once however a total is split into increments', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 0.3e26, noNaN: true }), { minLength: 1, maxLength: 60 }), (increments) => {
        const seen = new Map<number, number>();
        let total = 0;
        for (const inc of increments) {
          const next = total + inc;
          for (const level of levelsCrossed(total, next, T, pack.levels)) seen.set(level.fraction, (seen.get(level.fraction) ?? 0) + 1);
          total = next;
        }
        expect([...seen.values()].every((n) => n === 1)).toBe(true);
        expect([...seen.keys()].sort()).toEqual(fractions(levelsReached(total, T, pack.levels)).sort());
      }),
    );
  });
});

describe('levelsReached', () => {
  it.each([
    [0, []],
    [0.25e26, [0.1, 0.25]],
    [1e26, [0.1, 0.25, 0.5, 0.8, 0.9, 1]],
  ])('at %s has reached %j', (total, expected) => {
    expect(fractions(levelsReached(total, T, pack.levels))).toEqual(expected);
  });
});
