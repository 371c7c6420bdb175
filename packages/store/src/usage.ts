import type { Lineage } from '@flopwatch/contracts';
import type { Accounting, StoredConflict } from './accounting.js';
import type { Books } from './books.js';
import type { Registry } from './registry.js';
import { teraToOps } from './units.js';

/** Trailing windows ending at `now`, tera-operations. */
export interface UsageWindows {
  h24: number;
  d7: number;
  d30: number;
  d365: number;
}

/** A tenant's usage as the books keep it, tera-operations (gpuMicroseconds excepted). */
export interface TenantUsage {
  teraOps: number;
  upperTeraOps: number;
  gpuMicroseconds: number;
  /**
   * GPU time reported and not counted again, GPU-µs, by reason: duplicate and overlap (time of the
   * same kind), measured (allocated time a measured report had counted), pruned (before a slice's tombstone).
   */
  coveredGpuMicroseconds: { duplicate: number; overlap: number; measured: number; pruned: number };
  /**
   * Coverage: slice time known as measured and as allocated, GPU-µs, each counted once per slice-time
   * (allocated time counts even where measured time covers it).
   */
  coverage: { measuredGpuMicroseconds: number; allocatedGpuMicroseconds: number };
  /** GPU-µs first counted at an allocation's rate, then re-rated by a measured report. */
  supersededGpuMicroseconds: number;
  /** Reports that overlapped covered time of their kind at another rate (first counted wins), and their overlapping GPU-µs. */
  conflicts: { count: number; gpuMicroseconds: number };
  controlledTier1TeraOps: number;
  windows: UsageWindows;
  byCountry: Record<string, number>;
  byTier: Record<string, number>;
  byModel: Record<string, number>;
  byLineage: Record<string, number>;
  /** End of the latest counted interval (epoch ms), null when nothing was counted. */
  lastActivityMs: number | null;
}

/** A lineage's cumulative count and what it is made of (tera-operations per tenant unless noted). */
export interface LineageCumulative {
  /** Operations: own + ancestors' + a closed-weight base model's pretraining. */
  operations: number;
  ownOperations: number;
  /** Own and ancestors' shares per tenant. */
  byTenant: Map<string, number>;
  /** This lineage's own shares per tenant. */
  own: Map<string, number>;
  /** Every ancestor of the graph once (declared parents and checkpoint links), nearest first, with the tenants that fed it. */
  ancestors: { id: string; tenants: string[] }[];
}


/** Read model over the accounting state: usage per tenant, group and lineage. */
export function createUsage({ accounting, registry, books }: { accounting: Accounting; registry: Registry; books: Books }) {
  return {
    /** A tenant's totals, trailing windows ending at `now`, and breakdowns. */
    tenant: (tenantId: string, now: Date): Promise<TenantUsage> => books.usage(tenantId, now),

    /**
     * A tenant's biggest jobs with their coverage (measured against allocated GPU-µs), and its latest
     * conflicts: the evidence of how its count was reconciled across sources.
     */
    async tenantJobs(tenantId: string, limit = 10): Promise<{ jobs: { jobKey: string; teraOps: number; coverage: { measuredGpuMicroseconds: number; allocatedGpuMicroseconds: number } }[]; conflicts: StoredConflict[] }> {
      const [top, conflicts] = await Promise.all([accounting.topJobs(tenantId, limit), accounting.conflicts(tenantId, limit)]);
      const coverage = await accounting.jobCoverage(tenantId, top.map((j) => j.jobKey));
      return { jobs: top.map((j) => ({ ...j, coverage: coverage.get(j.jobKey)! })), conflicts };
    },

    /** A tenant's all-time tera-operations and its day buckets (day index since epoch → tera-operations), oldest first. */
    dailyTeraOps: (tenantId: string): Promise<{ teraOps: number; days: [number, number][] }> => books.dailyTeraOps(tenantId),

    /**
     * A lineage's cumulative operations (own + ancestors' + a closed-weight base model's pretraining)
     * and the pieces behind them: own shares per tenant, and each ancestor with its contributors.
     */
    async lineageCumulative(lineageId: string): Promise<LineageCumulative> {
      const [own, graph] = await Promise.all([accounting.lineageOwnTeraOps(lineageId), books.ancestry(lineageId)]);
      const records = await Promise.all([lineageId, ...graph.ancestors].map((id) => registry.getLineage<Lineage>(id)));
      const ancestors = graph.ancestors.map((id) => ({ id }));
      const ancestorShares = await Promise.all(ancestors.map((a) => accounting.lineageOwnTeraOps(a.id)));
      let tera = own.teraOps;
      const byTenant = new Map(own.byTenant);
      for (const a of ancestorShares) {
        tera += a.teraOps;
        for (const [t, v] of a.byTenant) byTenant.set(t, (byTenant.get(t) ?? 0) + v);
      }
      // A closed-weight base model's pretraining, once per lineage of the ancestry that declares one.
      const base = records.reduce((sum, r) => sum + (r?.baseModel && !r.baseModel.publishedWeights ? (r.baseModel.pretrainingOperations ?? 0) : 0), 0);
      return {
        operations: teraToOps(tera) + base,
        ownOperations: teraToOps(own.teraOps),
        byTenant,
        own: own.byTenant,
        ancestors: ancestors.map((a, i) => ({ id: a.id, tenants: [...ancestorShares[i]!.byTenant.keys()] })),
      };
    },
  };
}

/** Adds usages together (a group's usage is the sum of its members'). */
export function sumUsage(usages: TenantUsage[]): TenantUsage {
  const add = (a: Record<string, number>, b: Record<string, number>) => {
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const zero: TenantUsage = {
    teraOps: 0, upperTeraOps: 0, gpuMicroseconds: 0, coveredGpuMicroseconds: { duplicate: 0, overlap: 0, measured: 0, pruned: 0 }, controlledTier1TeraOps: 0,
    coverage: { measuredGpuMicroseconds: 0, allocatedGpuMicroseconds: 0 }, supersededGpuMicroseconds: 0, conflicts: { count: 0, gpuMicroseconds: 0 },
    windows: { h24: 0, d7: 0, d30: 0, d365: 0 },
    byCountry: {}, byTier: {}, byModel: {}, byLineage: {}, lastActivityMs: null,
  };
  return usages.reduce((acc, u) => ({
    teraOps: acc.teraOps + u.teraOps,
    upperTeraOps: acc.upperTeraOps + u.upperTeraOps,
    gpuMicroseconds: acc.gpuMicroseconds + u.gpuMicroseconds,
    coveredGpuMicroseconds: {
      duplicate: acc.coveredGpuMicroseconds.duplicate + u.coveredGpuMicroseconds.duplicate, overlap: acc.coveredGpuMicroseconds.overlap + u.coveredGpuMicroseconds.overlap,
      measured: acc.coveredGpuMicroseconds.measured + u.coveredGpuMicroseconds.measured, pruned: acc.coveredGpuMicroseconds.pruned + u.coveredGpuMicroseconds.pruned,
    },
    coverage: {
      measuredGpuMicroseconds: acc.coverage.measuredGpuMicroseconds + u.coverage.measuredGpuMicroseconds,
      allocatedGpuMicroseconds: acc.coverage.allocatedGpuMicroseconds + u.coverage.allocatedGpuMicroseconds,
    },
    supersededGpuMicroseconds: acc.supersededGpuMicroseconds + u.supersededGpuMicroseconds,
    conflicts: { count: acc.conflicts.count + u.conflicts.count, gpuMicroseconds: acc.conflicts.gpuMicroseconds + u.conflicts.gpuMicroseconds },
    controlledTier1TeraOps: acc.controlledTier1TeraOps + u.controlledTier1TeraOps,
    windows: { h24: acc.windows.h24 + u.windows.h24, d7: acc.windows.d7 + u.windows.d7, d30: acc.windows.d30 + u.windows.d30, d365: acc.windows.d365 + u.windows.d365 },
    byCountry: add(acc.byCountry, u.byCountry),
    byTier: add(acc.byTier, u.byTier),
    byModel: add(acc.byModel, u.byModel),
    byLineage: add(acc.byLineage, u.byLineage),
    lastActivityMs: u.lastActivityMs === null ? acc.lastActivityMs : Math.max(acc.lastActivityMs ?? 0, u.lastActivityMs),
  }), zero);
}

export type Usage = ReturnType<typeof createUsage>;
