import { parseDuration } from '@flopwatch/runtime';
import { WebhookError } from './errors.js';

const H = 3_600_000;
/** Delays before each retry after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [5_000, 300_000, 1_800_000, 2 * H, 5 * H, 10 * H, 10 * H];

export interface RetryPolicy {
  /** Delays before retry 1, 2, …; its length is the number of retries after the first attempt. */
  scheduleMs: readonly number[];
  /** Fraction of each delay added or removed at random (0.2 = ±20 %), so retries of many messages spread out. */
  jitter?: number;
  /** A receiver's Retry-After is honoured up to this (it can only lengthen a delay). */
  maxRetryAfterMs?: number;
  random?: () => number;
}

/** Parses `5s,5m,30m,2h` (or bare milliseconds) into delays; throws SCHEDULE_INVALID. */
export function parseRetrySchedule(text: string): number[] {
  return text.split(',').map((part) => {
    const ms = parseDuration(part);
    if (ms === null) throw new WebhookError('SCHEDULE_INVALID', `invalid retry delay ${JSON.stringify(part)} (expected e.g. 5s, 5m, 2h)`);
    return ms;
  });
}

/**
 * The delay before the next attempt after `failedAttempts` failures in a row (1-based), or null when
 * the schedule is exhausted and the message is dead-lettered.
 */
export function nextRetryDelay(policy: RetryPolicy, failedAttempts: number, retryAfterMs: number | null = null): number | null {
  const base = policy.scheduleMs[failedAttempts - 1];
  if (base === undefined) return null;
  const jitter = policy.jitter ?? 0.2;
  const random = policy.random ?? Math.random;
  const jittered = Math.max(0, Math.round(base * (1 + jitter * (2 * random() - 1))));
  const honoured = retryAfterMs === null ? 0 : Math.min(retryAfterMs, policy.maxRetryAfterMs ?? 24 * H);
  return Math.max(jittered, honoured);
}

/** A Retry-After header (seconds or HTTP date) in milliseconds from `now`, or null when absent or unparseable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1_000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
