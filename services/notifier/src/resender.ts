// Keeps Alertmanager told about every case: claims the cases due on the schedule (a new alert or a
// status change makes its case due at once; an open case is due again every re-send interval), posts
// them in one request, and puts each back on the schedule or takes it off once it was sent resolved.
// A transient failure (unreachable, 5xx, 429) is retried on a short backoff capped at the interval;
// a rejection (400 and other 4xx) is dead-lettered at once, once per case, and the case waits for its
// next regular re-send instead of being retried. The schedule is in Redis, so a restarted notifier, or
// another instance, resumes it; a restarted Alertmanager gets every open case back within an interval.
import type { Logger } from 'pino';
import type { Alert } from '@flopwatch/contracts';
import { backoff, isRetryable } from '@flopwatch/runtime';
import type { Store, TrackedCase } from '@flopwatch/store';
import { postAlerts, toPostableAlert, type AlertmanagerOptions, type PostableAlert } from './alertmanager.js';
import type { NotifierMetrics } from './metrics.js';

export interface ResenderOptions {
  store: Store;
  alertmanager: AlertmanagerOptions;
  metrics: NotifierMetrics;
  log: Logger;
  /** Cases claimed per tick. Default 100. */
  batchSize?: number;
  now?: () => number;
}

interface Due {
  caseId: string;
  tracked: TrackedCase;
  open: boolean;
  /** What this send posts: the case, and its previous label set resolved when the labels changed. */
  posts: PostableAlert[];
}

const sameLabels = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

export function createResender(options: ResenderOptions) {
  const { store, metrics, alertmanager: am } = options;
  const channels = store.notifyChannels;
  const log = options.log.child({ component: 'alertmanager' });
  const now = options.now ?? Date.now;
  const leaseMs = (am.timeoutMs ?? 10_000) * 2 + 1_000;
  const retryDelay = backoff({ initialMs: Math.min(1_000, am.resendIntervalMs), maxMs: am.resendIntervalMs, jitter: 'none' });

  async function load(caseId: string, at: Date): Promise<Due | null> {
    const tracked = await channels.getCase(caseId);
    if (!tracked) return null;
    const { open, alerts } = await channels.caseState<Alert>(caseId);
    if (alerts.length === 0) return null;
    const post = toPostableAlert(alerts, open, am, at);
    const posts = [post];
    // The label set is the alert's identity: when it changed (the severity of an escalation), the old one is resolved.
    if (tracked.lastLabels && !sameLabels(tracked.lastLabels, post.labels)) posts.push({ labels: tracked.lastLabels, annotations: {}, startsAt: post.startsAt, endsAt: at.toISOString() });
    return { caseId, tracked, open, posts };
  }

  async function accepted(d: Due, lease: number, t: number): Promise<void> {
    await channels.recordSend(d.caseId, { accepted: true, labels: d.posts[0]!.labels });
    await channels.releaseCase(d.caseId, lease, d.open ? t + am.resendIntervalMs : null);
    metrics.alertmanagerCases.inc({ state: d.open ? 'firing' : 'resolved' });
  }

  async function failed(d: Due, lease: number, t: number, err: unknown): Promise<void> {
    const failures = d.tracked.failures + 1;
    if (isRetryable(err)) {
      await channels.recordSend(d.caseId, { accepted: false, rejected: d.tracked.rejected, failures });
      await channels.releaseCase(d.caseId, lease, t + retryDelay(failures - 1));
      return;
    }
    if (!d.tracked.rejected) {
      await channels.deadLetter({
        channel: 'alertmanager', reason: 'alertmanager_rejected', at: new Date(t).toISOString(),
        alertId: d.posts[0]!.annotations.alert_id ?? null, caseId: d.caseId, entryId: null, error: (err as Error).message,
      });
      metrics.channelDeadLetters.inc({ channel: 'alertmanager', reason: 'alertmanager_rejected' });
      log.warn({ err, caseId: d.caseId }, 'Alertmanager rejected a case; dead-lettered, sent again at its next re-send');
    }
    await channels.recordSend(d.caseId, { accepted: false, rejected: true, failures });
    await channels.releaseCase(d.caseId, lease, d.open ? t + am.resendIntervalMs : null);
  }

  async function post(due: Due[]): Promise<unknown> {
    try {
      await postAlerts(am, due.flatMap((d) => d.posts));
      metrics.alertmanager.inc({ result: 'ok' });
      return null;
    } catch (err) {
      metrics.alertmanager.inc({ result: isRetryable(err) ? 'error' : 'rejected' });
      return err;
    }
  }

  return {
    /** Sends the cases due now; returns how many it claimed. */
    async tick(): Promise<number> {
      const t = now();
      const lease = t + leaseMs;
      const ids = await channels.claimDueCases(t, lease, options.batchSize ?? 100);
      if (ids.length === 0) return 0;
      const at = new Date(t);
      const loaded = await Promise.all(ids.map((id) => load(id, at)));
      await Promise.all(ids.filter((_, i) => loaded[i] === null).map((id) => channels.releaseCase(id, lease, null)));
      const due = loaded.filter((d): d is Due => d !== null);
      if (due.length === 0) return ids.length;
      const err = await post(due);
      if (err === null) {
        await Promise.all(due.map((d) => accepted(d, lease, t)));
      } else if (isRetryable(err) || due.length === 1) {
        if (isRetryable(err)) log.warn({ err, cases: due.length }, 'Alertmanager unavailable; cases retried');
        await Promise.all(due.map((d) => failed(d, lease, t, err)));
      } else {
        // One rejected case must not hold back the others: send them one by one to find it.
        for (const d of due) {
          const one = await post([d]);
          await (one === null ? accepted(d, lease, t) : failed(d, lease, t, one));
        }
      }
      return ids.length;
    },
  };
}

export type Resender = ReturnType<typeof createResender>;
