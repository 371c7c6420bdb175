import { createHash } from 'node:crypto';
import type { Handoff, JobShape, PairEvidence } from '@flopwatch/contracts';
import type { AuditLog } from './audit.js';
import type { JobShapes } from './job-shapes.js';
import type { Keys } from './keys.js';
import type { LineageLinks } from './lineage-links.js';
import type { RedisClient } from './redis.js';

// Behavioural links (docs/detection.md): suspected links between tenants found in
// telemetry (co-scheduled jobs, checkpoint hand-offs), with their evidence, and the analyst's decision
// on each. Evidence and decisions are two hashes, so the analysis never overwrites a decision:
//   {behaviour}:evidence   HASH  <a>~<b> → JSON BehaviourEvidence (the latest analysis that found it)
//   {behaviour}:decisions  HASH  <a>~<b> → JSON decision (confirmed | dismissed, by, at, note)
// A dismissed link stays dismissed whatever later analyses find; suspected and confirmed links make
// suspected groups (their connected components), which structuring evaluates.

export type BehaviourLinkStatus = 'suspected' | 'confirmed' | 'dismissed';

export interface BehaviourEvidence extends PairEvidence {
  /** When an analysis first and last found the pair (ISO). */
  firstSeenAt: string;
  lastSeenAt: string;
}

export interface BehaviourDecision {
  status: 'confirmed' | 'dismissed';
  by: string;
  at: string;
  note?: string;
}

export interface BehaviourLink {
  id: string;
  tenants: [string, string];
  status: BehaviourLinkStatus;
  evidence: BehaviourEvidence;
  decision: BehaviourDecision | null;
}

/** A group of tenants joined by suspected or confirmed behavioural links. */
export interface SuspectedGroup {
  /** `bg-<12 hex>` of the sorted members: a new member makes a new group. */
  id: string;
  members: string[];
  links: string[];
}

export const linkIdOf = (a: string, b: string) => (a < b ? `${a}~${b}` : `${b}~${a}`);
export const suspectedGroupId = (members: string[]) => `bg-${createHash('sha256').update([...members].sort().join('\u0000')).digest('hex').slice(0, 12)}`;

export class BehaviourLinkNotFoundError extends Error {
  readonly retryable = false;
  constructor(readonly linkId: string) {
    super(`no behavioural link ${linkId}`);
  }
}

export function behaviourKeys(keys: Pick<Keys, 'prefix'>) {
  return { evidence: `${keys.prefix}{behaviour}:evidence`, decisions: `${keys.prefix}{behaviour}:decisions` };
}

/** Connected components (two or more tenants) of some tenant pairs, each sorted, in order of their first id. */
function components(pairs: [string, string][]): string[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  for (const [a, b] of pairs) {
    if (!parent.has(a)) parent.set(a, a);
    if (!parent.has(b)) parent.set(b, b);
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
  const groups = new Map<string, string[]>();
  for (const x of parent.keys()) groups.set(find(x), [...(groups.get(find(x)) ?? []), x]);
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort()).sort((x, y) => x[0]!.localeCompare(y[0]!));
}

export function createBehaviourLinks({ redis, keys, jobShapes, lineageLinks, audit, lineages, now = () => new Date() }: {
  redis: RedisClient;
  keys: Pick<Keys, 'prefix'>;
  jobShapes: JobShapes;
  lineageLinks: LineageLinks;
  audit: AuditLog;
  /** Every known lineage id (the registry's index). */
  lineages: () => Promise<string[]>;
  now?: () => Date;
}) {
  const k = behaviourKeys(keys);

  async function handoffs(): Promise<Handoff[]> {
    const out: Handoff[] = [];
    for (const lineageId of await lineages()) {
      for (const [parentLineageId, e] of await lineageLinks.links(lineageId)) {
        if (e.kind === 'checkpoint' && e.parentTenantId && e.parentTenantId !== e.tenantId) {
          out.push({ checkpoint: e.checkpoint ?? '', lineageId, tenantId: e.tenantId, parentLineageId, parentTenantId: e.parentTenantId });
        }
      }
    }
    return out;
  }

  async function list(): Promise<BehaviourLink[]> {
    const [evidence, decisions] = await Promise.all([redis.hgetall(k.evidence), redis.hgetall(k.decisions)]);
    return Object.entries(evidence).map(([id, json]): BehaviourLink => {
      const e = JSON.parse(json) as BehaviourEvidence;
      const d = decisions[id] ? (JSON.parse(decisions[id]) as BehaviourDecision) : null;
      return { id, tenants: e.tenants, status: d?.status ?? 'suspected', evidence: e, decision: d };
    }).sort((a, b) => a.id.localeCompare(b.id));
  }

  async function get(id: string): Promise<BehaviourLink | null> {
    const [e, d] = await Promise.all([redis.hget(k.evidence, id), redis.hget(k.decisions, id)]);
    if (!e) return null;
    const evidence = JSON.parse(e) as BehaviourEvidence;
    const decision = d ? (JSON.parse(d) as BehaviourDecision) : null;
    return { id, tenants: evidence.tenants, status: decision?.status ?? 'suspected', evidence, decision };
  }

  async function groups(): Promise<SuspectedGroup[]> {
    const live = (await list()).filter((l) => l.status !== 'dismissed');
    return components(live.map((l) => l.tenants)).map((members) => ({
      id: suspectedGroupId(members),
      members,
      links: live.filter((l) => members.includes(l.tenants[0])).map((l) => l.id),
    }));
  }

  return {
    keys: k,
    /**
     * What an analysis reads: every cluster's jobs that started within `lookbackDays` of the cluster's
     * latest start, and every checkpoint hand-off between two tenants. Jobs that ended before that
     * are dropped from the record as it is read (it holds the lookback and what arrived since).
     */
    async inputs(lookbackDays: number): Promise<{ clusters: Record<string, JobShape[]>; handoffs: Handoff[] }> {
      const clusters: Record<string, JobShape[]> = {};
      for (const cluster of await jobShapes.clusters()) {
        const all = await jobShapes.jobs(cluster);
        if (all.length === 0) continue;
        const since = Math.max(...all.map((j) => j.startMin)) - lookbackDays * 1440;
        clusters[cluster] = all.filter((j) => j.startMin >= since);
        if (all.some((j) => j.endMin < since)) await jobShapes.trim(cluster, since);
      }
      return { clusters, handoffs: await handoffs() };
    },

    /** Stores the pairs an analysis suspects, with their evidence (a decided link keeps its decision). */
    async save(pairs: PairEvidence[]): Promise<BehaviourLink[]> {
      const at = now().toISOString();
      for (const pair of pairs) {
        const id = linkIdOf(...pair.tenants);
        const before = await redis.hget(k.evidence, id);
        const firstSeenAt = before ? (JSON.parse(before) as BehaviourEvidence).firstSeenAt : at;
        await redis.hset(k.evidence, id, JSON.stringify({ ...pair, firstSeenAt, lastSeenAt: at } satisfies BehaviourEvidence));
      }
      const ids = new Set(pairs.map((p) => linkIdOf(...p.tenants)));
      return (await list()).filter((l) => ids.has(l.id));
    },

    list,
    get,
    /** Links that name this tenant. */
    async ofTenant(tenantId: string): Promise<BehaviourLink[]> {
      return (await list()).filter((l) => l.tenants.includes(tenantId));
    },
    groups,
    /** The members of a suspected group (empty when no such group stands now). */
    async groupMembers(groupId: string): Promise<string[]> {
      return (await groups()).find((g) => g.id === groupId)?.members ?? [];
    },

    /** An analyst's decision on a link, audited; a dismissed link stays dismissed through later analyses. */
    async decide(id: string, status: 'confirmed' | 'dismissed', actor: string, opts: { note?: string; requestId?: string } = {}): Promise<BehaviourLink> {
      const link = await get(id);
      if (!link) throw new BehaviourLinkNotFoundError(id);
      const decision: BehaviourDecision = { status, by: actor, at: now().toISOString(), ...(opts.note ? { note: opts.note } : {}) };
      await audit.record(
        { actor, action: status === 'confirmed' ? 'behaviour-link.confirm' : 'behaviour-link.dismiss', object: `behaviour-link:${id}`, before: { status: link.status }, after: { tenants: link.tenants, status, reasons: link.evidence.reasons, matched: link.evidence.matched, adjustedPValue: link.evidence.adjustedPValue }, ...(opts.note ? { note: opts.note } : {}), ...(opts.requestId ? { requestId: opts.requestId } : {}) },
        () => redis.hset(k.decisions, id, JSON.stringify(decision)),
      );
      return { ...link, status, decision };
    },
  };
}

export type BehaviourLinks = ReturnType<typeof createBehaviourLinks>;
