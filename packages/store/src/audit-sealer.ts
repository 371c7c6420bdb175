// The audit sealer: the one writer of the chain. Writers append their entries unsealed, in the same
// step as their change (audit.ts); this loop gives them their seq, prev and hash in the order they
// were written — the way a transparency log separates sequencing from signing. It runs in every API
// replica: a lease in Redis ({alerts}:audit:sealer) lets exactly one seal at a time, the others wait
// to take over when it lapses, and the sealing script checks the lease and the head, so a sealer
// that paused past its lease cannot fork the chain. Sealing is resumable (a crash leaves whole runs
// sealed or unsealed) and idempotent (a run already sealed moved the head, so it is not sealed twice).
// The sealer also gives each entry its HMAC (the only place that needs the key) and, holding the
// lease, publishes what it sealed (the outbox) to the copy outside Redis.
import type { AuditIntent, AuditLog, IntentOutcome } from './audit.js';

export interface AuditSealerOptions {
  audit: AuditLog;
  /** Pause between rounds. Default 1 s. */
  intervalMs?: number;
  /**
   * Looks at a record to settle an intent its writer could not confirm (see AuditLog.settle); without
   * it, such intents stay for `verify` to name.
   */
  checkIntent?: (intent: AuditIntent) => Promise<IntentOutcome>;
  /** An intent younger than this is its writer's to confirm. Default 30 s. */
  intentGraceMs?: number;
  /**
   * Publishes the sealed entries waiting in the outbox (run by the lease holder after sealing);
   * returns how many it sent. It handles its own errors: sealing goes on whether Kafka answers or not.
   */
  publish?: () => Promise<number>;
  /** Called after each round (for metrics and logs). */
  onRound?: (round: { sealed: number; leader: boolean; unsealed: number; published?: number; settled?: { confirmed: number; dropped: number; open: number } }) => void;
  onError?: (err: unknown) => void;
}

export interface AuditSealer {
  /** Runs one round now: seals what waits (if this instance holds the lease) and settles old intents. */
  round(): Promise<void>;
  /** Stops after the round in flight and gives up the lease; idempotent. */
  close(): Promise<void>;
}

export function startAuditSealer(opts: AuditSealerOptions): AuditSealer {
  const { audit } = opts;
  const intervalMs = opts.intervalMs ?? 1000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  async function round(): Promise<void> {
    const { sealed, leader } = await audit.seal();
    // One instance settles too: the one holding the lease, so checks are not repeated by every replica.
    const settled = leader && opts.checkIntent ? await audit.settle(opts.checkIntent, opts.intentGraceMs ?? 30_000) : undefined;
    const published = leader && opts.publish ? await opts.publish() : undefined;
    opts.onRound?.({ sealed, leader, unsealed: await audit.unsealedCount(), ...(settled ? { settled } : {}), ...(published === undefined ? {} : { published }) });
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        await round();
      } catch (err) {
        opts.onError?.(err);
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, intervalMs);
      });
    }
  })();

  let closing: Promise<void> | undefined;
  return {
    round,
    close() {
      closing ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        wake?.();
        await loop;
        await audit.releaseLease().catch(() => {});
      })();
      return closing;
    },
  };
}
