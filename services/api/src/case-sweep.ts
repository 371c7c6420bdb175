// Keeps every case and its alerts agreeing (store's case-moves.ts). Moves write a case and its alerts
// in one step, so they drift apart only through data written otherwise: by a version that moved the
// alerts one by one after the case (a crash or three lost conflicts in between left them open), or
// by hand. Every replica sweeps at start, then every interval; a sweep changes only cases that
// disagree (as `flopwatch`, with audit and outbox entries), so replicas sweeping together are harmless.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Store } from '@flopwatch/store';

export interface CaseSweepOptions {
  /** Pause between sweeps (ms). Default one hour. */
  intervalMs?: number;
  now?: () => Date;
}

/** Starts the sweep (the first one at once) with its metrics; close it with the app. */
export function startCaseSweep(store: Store, registry: Registry, log: Logger, opts: CaseSweepOptions = {}): { close(): Promise<void> } {
  const intervalMs = opts.intervalMs ?? 3_600_000;
  const now = opts.now ?? (() => new Date());
  const repairs = new Counter({ name: 'flopwatch_case_alert_repairs_total', help: 'Cases and alerts the case sweep changed so that a case and its alerts agree; anything but 0 means they were written apart (an older version, a hand edit).', registers: [registry] });
  const lastSweep = new Gauge({ name: 'flopwatch_case_sweep_last_success_timestamp_seconds', help: 'When this replica last finished a sweep of every case (unix seconds).', registers: [registry] });
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;

  async function sweep(): Promise<void> {
    for await (const r of store.caseMoves.reconcileAll(now(), abort.signal)) {
      repairs.inc(r.changed);
      log.warn({ caseId: r.caseId, changed: r.changed }, 'a case and its alerts disagreed; brought to agree');
    }
    if (!abort.signal.aborted) lastSweep.set(Date.now() / 1000);
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      running = sweep()
        .catch((err: unknown) => log.warn({ err }, 'case sweep failed; retried at the next interval'))
        .finally(() => {
          running = null;
          if (!abort.signal.aborted) schedule(intervalMs);
        });
    }, delayMs);
    timer.unref();
  }
  schedule(0);

  return {
    async close() {
      abort.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
