// kafkajs 2.2.4 arms its request-queue timer with `throttledUntil - Date.now()`, a large negative
// number when nothing is throttled (tulios/kafkajs#1751, unfixed upstream). Node has always clamped
// such a delay to 1 ms, which is what kafkajs relies on; since Node 24 it also prints a
// TimeoutNegativeWarning on stderr once per process. Only that warning, and only when it comes from
// this known cause, is dropped: every other warning reaches Node's handler unchanged.

let installed = false;

/** Drops Node's TimeoutNegativeWarning (kafkajs#1751) for this process; idempotent. */
export function silenceKafkajsNegativeTimeoutWarning(): void {
  if (installed) return;
  installed = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: unknown } | undefined)?.type;
    const name = warning instanceof Error ? warning.name : type;
    if (name === 'TimeoutNegativeWarning') return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
