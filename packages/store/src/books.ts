import type { HardwareSplit, Lineage, LineageEdge, LineageSnapshot, Measure, Tenant, TenantBooks, TenantConflicts, TenantSnapshot } from '@flopwatch/contracts';
import type { Accounting } from './accounting.js';
import type { Keys } from './keys.js';
import type { LinkEvidence } from './lineage-links.js';
import type { RedisClient } from './redis.js';
import type { Registry } from './registry.js';
import { teraToOps } from './units.js';
import type { TenantUsage } from './usage.js';

// The books as the rules and the API read them. This module, accounting.ts's apply path and the
// lua/apply-usage-*.lua scripts are the only places that know the hash fields (ops, ctl_ops, ctl1_ops,
// ops:tier:<n>, c1:<day>, "<lineage> ctl1", …); everything above sees typed values (snapshots.ts
// builds the rules' snapshots from them).

/** Totals field of each measure. */
const TOTAL_FIELD: Record<Measure, string> = { all: 'ops', controlled: 'ctl_ops', controlledTier1: 'ctl1_ops' };
/** Lineage-contribution field suffix of each measure ('' = the lineage id itself). */
const LINEAGE_SUFFIX: Record<Measure, string> = { all: '', controlled: ' ctl', controlledTier1: ' ctl1' };
/** Totals field of each measure's disputed excess (moved by the apply script's conflict branches only). */
const DISPUTED_FIELD: Record<Measure, string> = { all: 'disputed_tera', controlled: 'disputed_ctl_tera', controlledTier1: 'disputed_ctl1_tera' };
/** Conflict records a tenant snapshot carries as evidence. */
const CONFLICTS_IN_SNAPSHOT = 5;
/** Longest ancestry walked (lineages), so a pathological graph cannot stall an evaluation. */
const MAX_ANCESTORS = 256;



const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Positive fields under a prefix, the prefix cut, as numbers. */
const pickRaw = (totals: Record<string, number>, prefix: string) =>
  Object.fromEntries(Object.entries(totals).filter(([f, v]) => f.startsWith(prefix) && v > 0).map(([f, v]) => [f.slice(prefix.length), v]));

/** Sums a day- or hour-bucket hash over indexes in (from, to]. */
function sumBuckets(buckets: Record<string, string>, from: number, to: number): number {
  let sum = 0;
  for (const [idx, v] of Object.entries(buckets)) {
    const i = Number(idx);
    if (i > from && i <= to) sum += Number(v);
  }
  return sum;
}

const numbers = (raw: Record<string, string>) => Object.fromEntries(Object.entries(raw).map(([f, v]) => [f, Number(v)]));

const emptySplit = (): HardwareSplit => ({ all: 0, controlled: 0, controlledTier1: 0, byTier: {}, byCountry: {} });

/** Day or hour buckets per measure: plain index = all, `c:<index>` = controlled, `c1:<index>` = controlled Tier 1. */
function buckets(raw: Record<string, string>): Record<Measure, Record<number, number>> {
  const out: Record<Measure, Record<number, number>> = { all: {}, controlled: {}, controlledTier1: {} };
  for (const [field, v] of Object.entries(raw)) {
    const n = teraToOps(Number(v));
    if (field.startsWith('c1:')) out.controlledTier1[Number(field.slice(3))] = n;
    else if (field.startsWith('c:')) out.controlled[Number(field.slice(2))] = n;
    else if (/^\d+$/.test(field)) out.all[Number(field)] = n;
  }
  return out;
}

/** Whether a field of a tenant's lineage hash names a lineage (the others are its breakdown). */
const isLineageField = (field: string) => !field.includes(' ');

export function createBooks({ redis, keys, accounting, registry }: { redis: RedisClient; keys: Keys; accounting: Accounting; registry: Registry }) {
  const clockKey = `${keys.prefix}{clock}`;

  async function tenantBooks(tenantId: string): Promise<TenantBooks> {
    const [raw, days, hours, held, top] = await Promise.all([
      redis.hgetall(keys.tenant.totals(tenantId)),
      redis.hgetall(keys.tenant.days(tenantId)),
      redis.hgetall(keys.tenant.hours(tenantId)),
      accounting.heldJobs(tenantId, 10),
      accounting.topJobs(tenantId, 5),
    ]);
    const num = (f: string) => Number(raw[f] ?? 0);
    // Read only for a tenant with conflicts: the common snapshot costs no more.
    let conflicts: TenantConflicts | undefined;
    if (num('conflicts') > 0) {
      const latest = await accounting.conflicts(tenantId, CONFLICTS_IN_SNAPSHOT);
      conflicts = {
        count: num('conflicts'),
        gpuSeconds: num('conflict_gpu_us') / 1e6,
        disputed: { all: teraToOps(num(DISPUTED_FIELD.all)), controlled: teraToOps(num(DISPUTED_FIELD.controlled)), controlledTier1: teraToOps(num(DISPUTED_FIELD.controlledTier1)) },
        latest: latest.map((c) => ({
          eventId: c.eventId, source: c.source, jobId: c.jobKey, node: c.node, startMs: c.startMs, endMs: c.endMs, measured: c.measured,
          overlapGpuSeconds: c.overlapGpuSeconds, countedTeraOpsPerMs: c.countedTeraOpsPerMs, reportedTeraOpsPerMs: c.reportedTeraOpsPerMs,
        })),
      };
    }
    const pick = (prefix: string) => Object.fromEntries(Object.entries(raw).filter(([f, v]) => f.startsWith(prefix) && Number(v) > 0).map(([f, v]) => [f.slice(prefix.length), teraToOps(Number(v))]));
    return {
      tenantId,
      split: {
        all: teraToOps(num(TOTAL_FIELD.all)),
        controlled: teraToOps(num(TOTAL_FIELD.controlled)),
        controlledTier1: teraToOps(num(TOTAL_FIELD.controlledTier1)),
        byTier: pick('ops:tier:'),
        byCountry: pick('ops:country:'),
      },
      byModel: pick('ops:model:'),
      days: buckets(days),
      hours: buckets(hours),
      latestEndMs: num('max_end') > 0 ? num('max_end') : null,
      h100eActive: num('h100e_active'),
      heldJobs: held.map((j) => ({ jobId: j.jobKey, h100e: j.h100e, operations: teraToOps(j.teraOps) })),
      topJobs: top.map((j) => ({ jobId: j.jobKey, operations: teraToOps(j.teraOps) })),
      ...(conflicts ? { conflicts } : {}),
    };
  }

  /** A tenant's usage in tera-operations: totals, coverage, trailing windows ending at `now`, breakdowns. */
  async function usage(tenantId: string, now: Date): Promise<TenantUsage> {
    const [raw, days, hours, lineages] = await Promise.all([
      redis.hgetall(keys.tenant.totals(tenantId)),
      redis.hgetall(keys.tenant.days(tenantId)),
      redis.hgetall(keys.tenant.hours(tenantId)),
      redis.hgetall(keys.tenant.lineages(tenantId)),
    ]);
    const totals = numbers(raw);
    const day = Math.floor(now.getTime() / DAY_MS);
    const hour = Math.floor(now.getTime() / HOUR_MS);
    return {
      teraOps: totals.ops ?? 0,
      upperTeraOps: totals.ub ?? 0,
      gpuMicroseconds: totals.gpu_us ?? 0,
      coveredGpuMicroseconds: {
        duplicate: totals['covered_gpu_us:duplicate'] ?? 0, overlap: totals['covered_gpu_us:overlap'] ?? 0,
        measured: totals['covered_gpu_us:measured'] ?? 0, pruned: totals['covered_gpu_us:pruned'] ?? 0,
      },
      coverage: { measuredGpuMicroseconds: totals.measured_gpu_us ?? 0, allocatedGpuMicroseconds: totals.allocated_gpu_us ?? 0 },
      supersededGpuMicroseconds: totals.superseded_gpu_us ?? 0,
      conflicts: { count: totals.conflicts ?? 0, gpuMicroseconds: totals.conflict_gpu_us ?? 0 },
      controlledTier1TeraOps: totals.ctl1_ops ?? 0,
      windows: {
        h24: sumBuckets(hours, hour - 24, hour),
        d7: sumBuckets(days, day - 7, day),
        d30: sumBuckets(days, day - 30, day),
        d365: sumBuckets(days, day - 365, day),
      },
      byCountry: pickRaw(totals, 'ops:country:'),
      byTier: pickRaw(totals, 'ops:tier:'),
      byModel: pickRaw(totals, 'ops:model:'),
      byLineage: Object.fromEntries(Object.entries(lineages).filter(([k]) => isLineageField(k)).map(([k, v]) => [k, Number(v)])),
      lastActivityMs: totals.max_end ? totals.max_end : null,
    };
  }

  /** A tenant's all-time tera-operations and its day buckets (day index since epoch → tera-operations), oldest first. */
  async function dailyTeraOps(tenantId: string): Promise<{ teraOps: number; days: [number, number][] }> {
    const [ops, days] = await Promise.all([redis.hget(keys.tenant.totals(tenantId), TOTAL_FIELD.all), redis.hgetall(keys.tenant.days(tenantId))]);
    // Only the plain day buckets: the per-measure ones (`c1:<day>`, `c:<day>`) share the hash.
    const list = Object.entries(days).filter(([d]) => /^\d+$/.test(d)).map(([d, v]): [number, number] => [Number(d), Number(v)]).sort((a, b) => a[0] - b[0]);
    return { teraOps: Number(ops ?? 0), days: list };
  }

  /** Each contributing tenant's share of a lineage's own operations, split by measure, tier and country. */
  async function lineageOwn(lineageId: string): Promise<Record<string, HardwareSplit>> {
    const tenants = await redis.smembers(keys.lineage.tenants(lineageId));
    const shares = await Promise.all(tenants.map(async (t) => {
      const fields: Record<string, string> = {};
      let cursor = '0';
      do {
        const [next, flat] = await redis.hscan(keys.tenant.lineages(t), cursor, 'MATCH', `${lineageId} *`, 'COUNT', 200);
        for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
        cursor = next;
      } while (cursor !== '0');
      const total = await redis.hget(keys.tenant.lineages(t), lineageId);
      const split = emptySplit();
      split.all = teraToOps(Number(total ?? 0));
      for (const [field, v] of Object.entries(fields)) {
        const part = field.slice(lineageId.length);
        const ops = teraToOps(Number(v));
        if (part === LINEAGE_SUFFIX.controlled) split.controlled = ops;
        else if (part === LINEAGE_SUFFIX.controlledTier1) split.controlledTier1 = ops;
        else if (part.startsWith(' tier:')) split.byTier[part.slice(6)] = ops;
        else if (part.startsWith(' country:')) split.byCountry[part.slice(9)] = ops;
      }
      return [t, split] as const;
    }));
    return Object.fromEntries(shares.filter(([, s]) => s.all > 0));
  }

  /** Parent edges of one lineage: its record's parentId and every link recorded from telemetry. */
  async function parentEdges(lineageId: string): Promise<LineageEdge[]> {
    const [record, links] = await Promise.all([registry.getLineage<Lineage>(lineageId), redis.hgetall(keys.lineage.links(lineageId))]);
    const edges = new Map<string, LineageEdge>();
    // The record's parent first (declared by an analyst, or the first link found), then every other edge.
    if (record?.parentId && record.parentId !== lineageId && !(record.parentId in links)) edges.set(record.parentId, { child: lineageId, parent: record.parentId, kind: 'declared' });
    for (const [parent, json] of Object.entries(links)) {
      if (parent === lineageId) continue;
      let e: Partial<LinkEvidence> = {};
      try {
        e = JSON.parse(json) as LinkEvidence;
      } catch {
        // Evidence that is not JSON still records the edge.
      }
      edges.set(parent, { child: lineageId, parent, kind: e.kind === 'checkpoint' ? 'checkpoint' : 'declared', ...(e.checkpoint ? { checkpoint: e.checkpoint } : {}), ...(e.tenantId ? { tenantId: e.tenantId } : {}) });
    }
    const ordered = [...edges.values()].sort((a, b) => Number(b.parent === record?.parentId) - Number(a.parent === record?.parentId));
    return ordered;
  }

  /**
   * Every ancestor of a lineage through any edge (declared parents and checkpoint links alike), each
   * once whichever edge reached it first, nearest first (breadth-first); cycles stop at a seen node.
   */
  async function ancestry(lineageId: string): Promise<{ ancestors: string[]; edges: LineageEdge[] }> {
    const seen = new Set([lineageId]);
    const ancestors: string[] = [];
    const edges: LineageEdge[] = [];
    let frontier = [lineageId];
    while (frontier.length > 0 && ancestors.length < MAX_ANCESTORS) {
      const next: string[] = [];
      for (const found of await Promise.all(frontier.map(parentEdges))) {
        for (const e of found) {
          edges.push(e);
          if (seen.has(e.parent)) continue;
          seen.add(e.parent);
          ancestors.push(e.parent);
          next.push(e.parent);
        }
      }
      frontier = next;
    }
    return { ancestors: ancestors.slice(0, MAX_ANCESTORS), edges };
  }

  return {
    tenantBooks,
    usage,
    dailyTeraOps,

    async tenant(tenantId: string): Promise<TenantSnapshot> {
      const [record, groupId, books] = await Promise.all([registry.getTenant<Tenant>(tenantId), registry.groupOf(tenantId), tenantBooks(tenantId)]);
      return { id: tenantId, record, groupId, books };
    },

    ancestry,

    async lineage(lineageId: string): Promise<LineageSnapshot> {
      const { ancestors, edges } = await ancestry(lineageId);
      const [own, shares, records] = await Promise.all([
        lineageOwn(lineageId),
        Promise.all(ancestors.map(lineageOwn)),
        Promise.all([lineageId, ...ancestors].map((id) => registry.getLineage<Lineage>(id))),
      ]);
      // A closed-weight base model's pretraining, once per lineage of the ancestry that declares one.
      const baseModelOperations = records.reduce((sum, r) => sum + (r?.baseModel && !r.baseModel.publishedWeights ? (r.baseModel.pretrainingOperations ?? 0) : 0), 0);
      return { id: lineageId, own, ancestors: ancestors.map((id, i) => ({ id, own: shares[i]! })), edges, baseModelOperations };
    },

    /** Lineages a tenant has put operations into. */
    async lineagesOf(tenantId: string): Promise<string[]> {
      return (await redis.hkeys(keys.tenant.lineages(tenantId))).filter(isLineageField);
    },

    /**
     * The books' event clock: the latest interval end the ingest has counted for any tenant (epoch
     * ms), null before any. Burn rates and projected crossings are measured at
     * max(event clock, subject's latest end), so a tenant that stops sees its burn rate decay as the
     * rest of the fleet's time moves on, and the API and the rules agree.
     */
    async eventClock(): Promise<number | null> {
      const v = await redis.zscore(clockKey, 'clock');
      return v === null ? null : Number(v);
    },

    /** Moves the event clock forward (never back). */
    async advanceClock(ms: number): Promise<void> {
      if (ms > 0) await redis.zadd(clockKey, 'GT', ms, 'clock');
    },
  };
}

export type Books = ReturnType<typeof createBooks>;
export { isLineageField };
