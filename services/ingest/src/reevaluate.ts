import type { Logger } from 'pino';
import type { PolicyPack } from '@flopwatch/policy';
import { sleep } from '@flopwatch/runtime';
import type { Alert } from '@flopwatch/contracts';
import { isTransientRedisError, type RegistryChange, type Store } from '@flopwatch/store';
import { evaluateDurably } from './alerts.js';
import type { RegistryView } from './registry-view.js';
import type { IngestMetrics } from './metrics.js';

/** Pending evaluations retried per round. */
const PENDING_CHUNK = 200;

export interface ReevaluationOptions {
  store: Store;
  view: RegistryView;
  pack: PolicyPack;
  log: Logger;
  metrics: IngestMetrics;
  /** Consumer group on the registry change stream; every ingest instance of a deployment shares it. */
  group: string;
  /** This instance's name in the group. */
  consumer: string;
  /** Pause between polls when there was nothing to do. */
  pollMs?: number;
  /** A change left unacknowledged this long by another instance (it died) is taken over. */
  claimIdleMs?: number;
  /**
   * A pending evaluation is retried once it has waited this long (ms): younger ones may still be in
   * flight in a batch. Default 30 s.
   */
  pendingMinAgeMs?: number;
  now?: () => Date;
}

export interface Reevaluation {
  /** Stops polling after the round in flight; idempotent. */
  close(): Promise<void>;
}

/**
 * Re-evaluates tenants, their groups and lineages when the KYC registry changes (a tenant found to be
 * Tier 3-owned, a new link between tenants), from the stored totals, without waiting for telemetry.
 * A change is acknowledged only after its alerts are raised, so a crash re-evaluates it (idempotent).
 * Each round also retries the evaluations that did not finish (the store's pending evaluations),
 * until they do, and reports how many wait (flopwatch_ingest_pending_evaluations).
 */
export function startReevaluation(opts: ReevaluationOptions): Reevaluation {
  const { store, log } = opts;
  const now = opts.now ?? (() => new Date());
  const controller = new AbortController();
  const pollMs = opts.pollMs ?? 1000;

  const ctx = { store, pack: opts.pack, view: opts.view, now };
  const raisedOn = (raised: Alert[], why: string) => {
    for (const a of raised) {
      opts.metrics.alerts.inc({ rule: a.rule, severity: a.severity });
      log.info({ alertId: a.id, rule: a.rule, scope: a.scope, subject: a.subject, level: a.level, severity: a.severity }, `alert raised on ${why}`);
    }
  };

  async function round(): Promise<number> {
    const changes = await store.registryChanges.read(opts.group, opts.consumer, 100, opts.claimIdleMs ?? 60_000);
    if (changes.length === 0) return 0;
    const subjects = await subjectsOf(store, changes);
    await opts.view.refresh(); // the change being handled must be visible
    raisedOn(await evaluateDurably(subjects, ctx), 'registry change');
    await store.registryChanges.ack(opts.group, changes.map((c) => c.id));
    return changes.length;
  }

  /**
   * Retries evaluations that did not finish (pending-evaluations.ts), oldest first: a chunk at once,
   * and when the chunk fails, each subject alone, so one that keeps failing holds back no other.
   * Returns how many subjects it finished.
   */
  async function retryPending(): Promise<number> {
    const due = await store.pendingEvaluations.due(PENDING_CHUNK, opts.pendingMinAgeMs ?? 30_000);
    const count = due.tenants.length + due.lineages.length + due.groups.length;
    if (count === 0) return 0;
    await opts.view.refresh();
    try {
      raisedOn(await evaluateDurably(due, ctx), 'a retried evaluation');
      return count;
    } catch (err) {
      log.warn({ err, subjects: count }, 'pending evaluations failed together, retrying each alone');
    }
    let finished = 0;
    const one = [
      ...due.tenants.map((t) => ({ tenants: [t], lineages: [], groups: [] })),
      ...due.lineages.map((l) => ({ tenants: [], lineages: [l], groups: [] })),
      ...due.groups.map((g) => ({ tenants: [], lineages: [], groups: [g] })),
    ];
    for (const subject of one) {
      try {
        raisedOn(await evaluateDurably(subject, ctx), 'a retried evaluation');
        finished++;
      } catch (err) {
        if (isTransientRedisError(err)) throw err; // Redis is down: the next round tries them all again
        if ((err as { retryable?: unknown }).retryable === true) opts.metrics.evaluationsDeferred.inc({ source: 'retry' });
        log.warn({ err, subject }, 'pending evaluation failed again; kept for the next round');
      }
    }
    return finished;
  }

  async function gauge(): Promise<void> {
    const { count, oldestSeconds } = await store.pendingEvaluations.depth();
    opts.metrics.pendingEvaluations.set(count);
    opts.metrics.pendingEvaluationAge.set(oldestSeconds);
  }

  const loop = (async () => {
    let ensured = false;
    while (!controller.signal.aborted) {
      try {
        if (!ensured) {
          await store.registryChanges.ensureGroup(opts.group);
          ensured = true;
        }
        // Each step on its own: a registry change that keeps failing holds back no pending evaluation.
        let busy = false;
        try {
          busy = (await round()) > 0;
        } catch (err) {
          log.warn({ err }, 'registry re-evaluation failed, retrying');
        }
        try {
          busy = (await retryPending()) > 0 || busy;
        } catch (err) {
          log.warn({ err }, 'retrying pending evaluations failed, retrying');
        }
        await gauge();
        if (busy) continue;
      } catch (err) {
        log.warn({ err }, 'registry re-evaluation failed, retrying');
      }
      await sleep(pollMs, controller.signal).catch(() => {});
    }
  })();

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        controller.abort();
        await loop;
      })();
      return closing;
    },
  };
}

/** The tenants, groups and lineages a set of registry changes may have changed the alerts of. */
async function subjectsOf(store: Store, changes: RegistryChange[]) {
  const tenants = new Set<string>();
  const groups = new Set<string>();
  const lineages = new Set<string>();
  for (const c of changes) {
    if (c.tenantId) tenants.add(c.tenantId);
    if (c.lineageId) lineages.add(c.lineageId);
    for (const g of c.groups) groups.add(g);
  }
  for (const members of await Promise.all([...groups].map((g) => store.registry.groupMembers(g)))) for (const m of members) tenants.add(m);
  // A tenant's risk is part of every lineage it feeds.
  for (const names of await Promise.all([...tenants].map((t) => store.books.lineagesOf(t)))) for (const l of names) lineages.add(l);
  return { tenants: [...tenants], groups: [...groups], lineages: [...lineages] };
}
