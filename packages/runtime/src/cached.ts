/**
 * Wraps a probe so that it runs at most once per `ttlMs`: callers within the window (and callers while it
 * runs) share one answer. /readyz answers from it, so a flood of requests costs one Redis ping and one
 * Kafka call per second, not one per request.
 */
export function cachedProbe<T>(probe: () => Promise<T> | T, ttlMs = 1_000, now: () => number = Date.now): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const t = now();
    if (last && t - last.at < ttlMs) return last.value;
    const value = Promise.resolve().then(probe);
    last = { at: t, value };
    // A failed probe is cached too (for the same second): a failing dependency is not hammered either.
    value.catch(() => {});
    return value;
  };
}
