import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE_MS, nextRetryDelay, parseRetryAfter, parseRetrySchedule } from '../src/index.js';

describe('retry schedule', () => {
  it('parses the default schedule from its text form', () => {
    expect(parseRetrySchedule('5s,5m,30m,2h,5h,10h,10h')).toEqual(DEFAULT_RETRY_SCHEDULE_MS);
    expect(parseRetrySchedule('50ms, 100, 0.5s')).toEqual([50, 100, 500]);
    expect(() => parseRetrySchedule('5x')).toThrow(/invalid retry delay/);
  });

  it('jitters each delay within the bound and ends after the last entry', () => {
    const policy = { scheduleMs: [1_000, 2_000], jitter: 0.2 };
    for (const r of [0, 0.5, 0.999]) {
      const d = nextRetryDelay({ ...policy, random: () => r }, 1)!;
      expect(d).toBeGreaterThanOrEqual(800);
      expect(d).toBeLessThanOrEqual(1_200);
    }
    expect(nextRetryDelay({ ...policy, jitter: 0 }, 2)).toBe(2_000);
    expect(nextRetryDelay(policy, 3)).toBeNull();
  });

  it('honours a longer Retry-After, capped', () => {
    const policy = { scheduleMs: [1_000], jitter: 0, maxRetryAfterMs: 60_000 };
    expect(nextRetryDelay(policy, 1, 30_000)).toBe(30_000);
    expect(nextRetryDelay(policy, 1, 500)).toBe(1_000);
    expect(nextRetryDelay(policy, 1, 3_600_000)).toBe(60_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 0)).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(undefined)).toBeNull();
  });
});
