import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

// What a signed compute statement reads from the books, as exact integers (tera-operations and
// GPU-microseconds, never the float operations the usage API shows). One module, so the read side
// can move as a whole; it knows the same hash fields as books.ts and lua/apply-usage-12.lua.

/** Tera-operations per measure. */
export interface MeasureTeraOps {
  all: number;
  controlled: number;
  controlledTier1: number;
}

/** A tenant's all-time figures as the books keep them (integers). */
export interface CumulativeFigures {
  teraOps: MeasureTeraOps & { upperBound: number };
  byTier: Record<string, number>;
  byCountry: Record<string, number>;
  byAccelerator: Record<string, number>;
  gpuMicroseconds: number;
  coveredGpuMicroseconds: { duplicate: number; overlap: number; measured: number; pruned: number };
  supersededGpuMicroseconds: number;
  coverage: { measuredGpuMicroseconds: number; allocatedGpuMicroseconds: number };
  conflicts: { count: number; gpuMicroseconds: number };
  /** End of the latest counted interval (epoch ms), null before any. */
  latestEndMs: number | null;
}

/** A report the books refused (interval_too_late, mixed_granularity, apply_failed), kept once. */
export interface RefusedReport {
  reason: string;
  endMs: number;
  gpuMicroseconds: number;
}

/** A lineage's own tera-operations from one contributing tenant, split like the tenant's totals (no accelerator: the books do not keep it per lineage). */
export interface LineageShare extends MeasureTeraOps {
  byTier: Record<string, number>;
  byCountry: Record<string, number>;
}

const int = (v: string | null | undefined) => (v === null || v === undefined || v === '' ? 0 : Number(v));

function pick(raw: Record<string, string>, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [f, v] of Object.entries(raw)) if (f.startsWith(prefix) && int(v) !== 0) out[f.slice(prefix.length)] = int(v);
  return out;
}

/** Read model of the statement figures: cumulative totals and day buckets per tenant, lineage shares. */
export function createStatementBooks({ redis, keys }: { redis: RedisClient; keys: Keys }) {
  return {
    /** A tenant's all-time figures. */
    async cumulative(tenantId: string): Promise<CumulativeFigures> {
      const raw = await redis.hgetall(keys.tenant.totals(tenantId));
      const n = (f: string) => int(raw[f]);
      return {
        teraOps: { all: n('ops'), controlled: n('ctl_ops'), controlledTier1: n('ctl1_ops'), upperBound: n('ub') },
        byTier: pick(raw, 'ops:tier:'),
        byCountry: pick(raw, 'ops:country:'),
        byAccelerator: pick(raw, 'ops:model:'),
        gpuMicroseconds: n('gpu_us'),
        coveredGpuMicroseconds: { duplicate: n('covered_gpu_us:duplicate'), overlap: n('covered_gpu_us:overlap'), measured: n('covered_gpu_us:measured'), pruned: n('covered_gpu_us:pruned') },
        supersededGpuMicroseconds: n('superseded_gpu_us'),
        coverage: { measuredGpuMicroseconds: n('measured_gpu_us'), allocatedGpuMicroseconds: n('allocated_gpu_us') },
        conflicts: { count: n('conflicts'), gpuMicroseconds: n('conflict_gpu_us') },
        latestEndMs: n('max_end') > 0 ? n('max_end') : null,
      };
    },

    /**
     * A tenant's day buckets from `fromDay` to `toDay` inclusive (UTC day indexes since the epoch):
     * the tera-operations each measure counted for reports ending that day. Days with nothing are left out.
     */
    async days(tenantId: string, fromDay: number, toDay: number): Promise<Map<number, MeasureTeraOps>> {
      const raw = await redis.hgetall(keys.tenant.days(tenantId));
      const out = new Map<number, MeasureTeraOps>();
      const at = (day: number) => {
        let d = out.get(day);
        if (!d) out.set(day, (d = { all: 0, controlled: 0, controlledTier1: 0 }));
        return d;
      };
      for (const [field, v] of Object.entries(raw)) {
        const [measure, idx]: [keyof MeasureTeraOps, string] = field.startsWith('c1:') ? ['controlledTier1', field.slice(3)] : field.startsWith('c:') ? ['controlled', field.slice(2)] : ['all', field];
        if (!/^\d+$/.test(idx)) continue;
        const day = Number(idx);
        if (day >= fromDay && day <= toDay && int(v) !== 0) at(day)[measure] = int(v);
      }
      return out;
    },

    /** Every report of the tenant the books refused, each once. */
    async refused(tenantId: string): Promise<RefusedReport[]> {
      const raw = await redis.hvals(keys.tenant.refused(tenantId));
      return raw.map((v) => {
        const [reason = '', endMs, gpuUs] = v.split(',');
        return { reason, endMs: int(endMs), gpuMicroseconds: int(gpuUs) };
      });
    },

    /** Each contributing tenant's share of a lineage's own operations (all time). */
    async lineageShares(lineageId: string): Promise<Map<string, LineageShare>> {
      const tenants = (await redis.smembers(keys.lineage.tenants(lineageId))).sort();
      const out = new Map<string, LineageShare>();
      await Promise.all(tenants.map(async (t) => {
        const raw = await redis.hgetall(keys.tenant.lineages(t));
        const own = (suffix: string) => int(raw[`${lineageId}${suffix}`]);
        const share: LineageShare = { all: own(''), controlled: own(' ctl'), controlledTier1: own(' ctl1'), byTier: pick(raw, `${lineageId} tier:`), byCountry: pick(raw, `${lineageId} country:`) };
        if (share.all !== 0) out.set(t, share);
      }));
      return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
    },
  };
}

export type StatementBooks = ReturnType<typeof createStatementBooks>;
