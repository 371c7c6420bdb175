import { isRetryable } from './errors.js';

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** 'full' (default): a uniform delay in [0, cap]; 'none': the cap itself. */
  jitter?: 'full' | 'none';
  /** Source of randomness in [0, 1); tests pass their own. */
  random?: () => number;
}

/** Exponential backoff: attempt (0-based) → delay in ms, capped at maxMs, with full jitter by default. */
export function backoff(options: BackoffOptions = {}): (attempt: number) => number {
  const { initialMs = 100, maxMs = 30_000, factor = 2, jitter = 'full', random = Math.random } = options;
  return (attempt) => {
    const cap = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
    return jitter === 'full' ? Math.floor(random() * cap) : cap;
  };
}

export interface RetryOptions {
  /** Total attempts (default 5); ignored with untilAborted. */
  attempts?: number;
  /** Keep trying until `signal` aborts (for connecting at start-up). */
  untilAborted?: boolean;
  signal?: AbortSignal;
  delay?: (attempt: number) => number;
  /** Whether an error is worth another attempt (default isRetryable). */
  shouldRetry?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Calls fn until it resolves, the error is not retryable, attempts run out, or the signal aborts. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 5, untilAborted = false, signal, delay = backoff(), shouldRetry = isRetryable, onRetry } = options;
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      const more = untilAborted ? true : attempt + 1 < attempts;
      if (!more || !shouldRetry(err) || signal?.aborted) throw err;
      const ms = delay(attempt);
      onRetry?.(err, attempt, ms);
      await sleep(ms, signal);
    }
  }
}

/** Resolves after ms, rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
