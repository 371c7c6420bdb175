import { describe, expect, it } from 'vitest';
import { levelsReached, type Level } from '../src/index.js';
import { pack } from './fixtures.js';

const T = 1e26;
const fractions = (levels: Level[]) => levels.map((l) => l.fraction);

describe('levelsReached', () => {
  it.each([
    [0, []],
    [0.25e26, [0.1, 0.25]],
    [1e26, [0.1, 0.25, 0.5, 0.8, 0.9, 1]],
  ])('at %s has reached %j', (total, expected) => {
    expect(fractions(levelsReached(total, T, pack.levels))).toEqual(expected);
  });
});
