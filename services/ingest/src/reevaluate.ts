import type { Logger } from 'pino';
import type { PolicyPack } from '@flopwatch/policy';
import { sleep } from '@flopwatch/runtime';
import type { RegistryChange, Store } from '@flopwatch/store';
import { evaluateSubjects } from './alerts.js';
import type { RegistryView } from './registry-view.js';
import type { IngestMetrics } from './metrics.js';

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
 */
export function startReevaluation(opts: ReevaluationOptions): Reevaluation {
  const { store, log } = opts;
  const now = opts.now ?? (() => new Date());
  const controller = new AbortController();
  const pollMs = opts.pollMs ?? 1000;

  async function round(): Promise<number> {
    const changes = await store.registryChanges.read(opts.group, opts.consumer, 100, opts.claimIdleMs ?? 60_000);
    if (changes.length === 0) return 0;
    const subjects = await subjectsOf(store, changes);
    await opts.view.refresh(); // the change being handled must be visible
    const raised = await evaluateSubjects(subjects, { store, pack: opts.pack, view: opts.view, now });
    for (const a of raised) {
      opts.metrics.alerts.inc({ rule: a.rule, severity: a.severity });
      log.info({ alertId: a.id, rule: a.rule, scope: a.scope, subject: a.subject, level: a.level, severity: a.severity }, 'alert raised on registry change');
    }
    await store.registryChanges.ack(opts.group, changes.map((c) => c.id));
    return changes.length;
  }

  const loop = (async () => {
    let ensured = false;
    while (!controller.signal.aborted) {
      try {
        if (!ensured) {
          await store.registryChanges.ensureGroup(opts.group);
          ensured = true;
        }
        if ((await round()) > 0) continue;
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
  return { tenants, groups, lineages };
}
