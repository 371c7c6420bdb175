import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AppError, backoff, isRetryable, retry } from '../src/index.js';

describe('backoff', () => {
  it('grows by the factor up to the cap without jitter', () => {
    const delay = backoff({ initialMs: 100, maxMs: 1_000, factor: 2, jitter: 'none' });
    expect([0, 1, 2, 3, 4, 10].map(delay)).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('stays within [0, cap] with full jitter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 0.999_999, noNaN: true }), (attempt, r) => {
        const cap = Math.min(5_000, 50 * 3 ** attempt);
        const d = backoff({ initialMs: 50, maxMs: 5_000, factor: 3, random: () => r })(attempt);
        return d >= 0 && d <= cap;
      }),
    );
  });
});

describe('retry', () => {
  const transient = () => new AppError('TRANSIENT', 'try again', { retryable: true });

  it('retries retryable errors until the call succeeds', async () => {
    const seen: number[] = [];
    const value = await retry(
      async (attempt) => {
        if (attempt < 2) throw transient();
        return 'ok';
      },
      { attempts: 5, delay: () => 1, onRetry: (_e, attempt) => seen.push(attempt) },
    );
    expect(value).toBe('ok');
    expect(seen).toEqual([0, 1]);
  });

  it('stops at the first non-retryable error and when attempts run out', async () => {
    let calls = 0;
    const fatal = new AppError('FATAL', 'no', { retryable: false });
    await expect(retry(async () => (calls++, Promise.reject(fatal)), { delay: () => 1 })).rejects.toBe(fatal);
    expect(calls).toBe(1);
    calls = 0;
    await expect(retry(async () => (calls++, Promise.reject(transient())), { attempts: 3, delay: () => 1 })).rejects.toMatchObject({ code: 'TRANSIENT' });
    expect(calls).toBe(3);
  });

  it('keeps trying until aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    const done = retry(async () => (calls++, Promise.reject(transient())), { untilAborted: true, signal: controller.signal, delay: () => 5 });
    setTimeout(() => controller.abort(new Error('stopping')), 50);
    await expect(done).rejects.toThrow('stopping');
    expect(calls).toBeGreaterThan(2);
  });
});

describe('AppError and isRetryable', () => {
  it('keeps code, cause and details, and reads retryable flags of foreign errors', () => {
    const cause = new Error('socket closed');
    const err = new AppError('X_FAILED', 'x failed', { retryable: true, cause, details: { topic: 't' } });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AppError');
    expect(err.cause).toBe(cause);
    expect(err.toJSON()).toEqual({ name: 'AppError', code: 'X_FAILED', message: 'x failed', retryable: true, details: { topic: 't' } });
    expect(isRetryable(err)).toBe(true);
    expect(isRetryable(Object.assign(new Error('kafkajs'), { retriable: true }))).toBe(true);
    expect(isRetryable(new Error('plain'))).toBe(false);
    expect(isRetryable('string')).toBe(false);
  });
});
