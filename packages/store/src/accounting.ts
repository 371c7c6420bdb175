import type { Keys } from './keys.js';
import { countedTeraOps } from './units.js';
import type { RedisClient } from './redis.js';
import type { ScriptCommands } from './scripts.js';

/** One validated, estimated usage event, ready to be counted. */
export interface UsageRecord {
  /** Kafka offset of the message that carried the event. */
  offset: string;
  tenantId: string;
  /** Unique per tenant: `<cluster>/<jobId>`. */
  jobKey: string;
  startMs: number;
  endMs: number;
  /** Estimated tera-operations per millisecond of the interval. */
  teraOpsPerMs: number;
  /** Tera-operations per millisecond at 100 % utilization. */
  upperTeraOpsPerMs: number;
  /** GPUs × 1000 (fractional GPUs are shares of one). */
  milliGpus: number;
  lineageId: string | null;
  /** ISO country of the hardware. */
  country: string;
  tier: 1 | 2 | 3;
  acceleratorId: string;
  /** The hardware is controlled (3A090) and stands in a Tier 1 country. */
  controlledTier1: boolean;
  /** H100-equivalents the job holds. */
  h100e: number;
}

/** A tenant's totals after a batch, in tera-operations (10^12). */
export interface TenantTotals {
  teraOps: number;
  upperTeraOps: number;
  /** GPU-microseconds (GPU-seconds × 10^6). */
  gpuMicroseconds: number;
  /** Tera-operations on controlled hardware in Tier 1 countries. */
  controlledTier1TeraOps: number;
  trailing365dTeraOps: number;
  trailing24hTeraOps: number;
  /** H100-equivalents held by the tenant's recently active jobs on controlled Tier 1 hardware. */
  h100eActive: number;
}

export interface TenantApplyResult {
  tenantId: string;
  /** Events counted now (their offsets were past the fence). */
  applied: number;
  /** Events skipped because an earlier attempt already applied them. */
  skipped: number;
  countedMs: number;
  totals: TenantTotals;
  /** The tenant's contribution to each lineage named in the batch, tera-operations. */
  lineages: Map<string, number>;
  /** An upper bound of each of those lineages' own tera-operations (see keys.lineage.upperBound). */
  lineageUpperBounds: Map<string, number>;
}


export interface AccountingOptions {
  redis: RedisClient & ScriptCommands;
  keys: Keys;
  /** A job silent for longer than this stops counting as held (large-cluster detection). */
  activeWindowMs: number;
}

/** The accounting facade the ingest calls: exact, idempotent application of usage records. */
export function createAccounting({ redis, keys, activeWindowMs }: AccountingOptions) {
  async function applyTenant(source: string, tenantId: string, records: UsageRecord[]): Promise<TenantApplyResult> {
    const k = keys.tenant;
    const args: (string | number)[] = [
      k.totals(tenantId), k.days(tenantId), k.hours(tenantId), k.fence(tenantId), k.jobMarks(tenantId),
      k.jobOps(tenantId), k.lineages(tenantId), k.active(tenantId), k.jobH100e(tenantId),
      source, activeWindowMs,
    ];
    for (const r of records) {
      args.push(r.offset, r.jobKey, r.startMs, r.endMs, String(r.teraOpsPerMs), String(r.upperTeraOpsPerMs), r.milliGpus,
        r.lineageId ?? '', r.country, r.tier, r.acceleratorId, r.controlledTier1 ? '1' : '0', String(r.h100e));
    }
    const reply = await redis.applyUsage(...args);
    const n = (i: number) => Number(reply[i] ?? 0);
    const lineages = new Map<string, number>();
    for (let i = 10; i + 1 < reply.length; i += 2) lineages.set(String(reply[i]), Number(reply[i + 1]));
    return {
      tenantId,
      applied: n(0),
      skipped: n(1),
      countedMs: n(2),
      totals: {
        teraOps: n(3), upperTeraOps: n(4), gpuMicroseconds: n(5), controlledTier1TeraOps: n(6),
        trailing365dTeraOps: n(7), trailing24hTeraOps: n(8), h100eActive: n(9),
      },
      lineages,
      lineageUpperBounds: new Map(),
    };
  }

  return {
    /**
     * Applies a batch of records from one Kafka partition (`source` = "<topic>/<partition>"): one
     * atomic script call per tenant, all in flight at once. Records must be in offset order. Safe to
     * retry with the same or an overlapping batch: what was applied is skipped.
     */
    async applyBatch(source: string, records: UsageRecord[]): Promise<TenantApplyResult[]> {
      const byTenant = new Map<string, UsageRecord[]>();
      for (const r of records) {
        const list = byTenant.get(r.tenantId);
        if (list) list.push(r);
        else byTenant.set(r.tenantId, [r]);
      }
      // Contributor sets first: SADD is idempotent, and doing it before the counts means a crash
      // between the two can never leave counted operations that a lineage's total does not see.
      const contributors = new Map<string, Set<string>>();
      for (const r of records) {
        if (r.lineageId === null) continue;
        const set = contributors.get(r.lineageId) ?? new Set<string>();
        set.add(r.tenantId);
        contributors.set(r.lineageId, set);
      }
      const bounds = new Map<string, number>();
      for (const r of records) {
        if (r.lineageId !== null) bounds.set(r.lineageId, (bounds.get(r.lineageId) ?? 0) + countedTeraOps(r.endMs - r.startMs, r.teraOpsPerMs));
      }
      const [, upper] = await Promise.all([
        Promise.all([...contributors].map(([lineageId, tenants]) => redis.sadd(keys.lineage.tenants(lineageId), ...tenants))),
        Promise.all([...bounds].map(async ([lineageId, tera]) => [lineageId, await redis.incrby(keys.lineage.upperBound(lineageId), tera)] as const)),
      ]);
      const upperBounds = new Map(upper);
      const results = await Promise.all([...byTenant].map(([tenantId, list]) => applyTenant(source, tenantId, list)));
      for (const r of results) r.lineageUpperBounds = new Map([...r.lineages.keys()].map((l) => [l, upperBounds.get(l) ?? 0]));
      return results;
    },

    /**
     * Records that every record of `source` up to `offset` is applied. Called after a batch; the
     * consumer resumes from here on assignment, so Redis' own record of progress wins over Kafka's
     * committed offsets (it is ahead after a crash between apply and commit, and behind after a
     * Redis restore, when re-reading re-derives exactly what was lost).
     */
    async recordProgress(source: string, offset: string): Promise<void> {
      await redis.set(keys.partition.progress(source), offset);
    },

    /** The last offset recorded by recordProgress for `source`, or null. */
    async progress(source: string): Promise<string | null> {
      return redis.get(keys.partition.progress(source));
    },

    /** The last offset applied from `source` for each tenant given (-1 when none). */
    async fence(source: string, tenantIds: string[]): Promise<Map<string, number>> {
      const values = await Promise.all(tenantIds.map((id) => redis.hget(keys.tenant.fence(id), source)));
      return new Map(tenantIds.map((id, i) => [id, values[i] == null ? -1 : Number(values[i])]));
    },

    /** Own tera-operations of a lineage: the sum of every contributing tenant's share. */
    async lineageOwnTeraOps(lineageId: string): Promise<{ teraOps: number; byTenant: Map<string, number> }> {
      const tenants = await redis.smembers(keys.lineage.tenants(lineageId));
      const shares = await Promise.all(tenants.map((t) => redis.hget(keys.tenant.lineages(t), lineageId)));
      const byTenant = new Map(tenants.map((t, i) => [t, Number(shares[i] ?? 0)]));
      let teraOps = 0;
      for (const v of byTenant.values()) teraOps += v;
      return { teraOps, byTenant };
    },

    /** A tenant's totals hash (all-time, windows, breakdowns), raw fields as numbers. */
    async tenantTotals(tenantId: string): Promise<Record<string, number>> {
      const raw = await redis.hgetall(keys.tenant.totals(tenantId));
      return Object.fromEntries(Object.entries(raw).map(([f, v]) => [f, Number(v)]));
    },

    /** The tenant's biggest jobs by operations, largest first. */
    async topJobs(tenantId: string, limit = 5): Promise<{ jobKey: string; teraOps: number }[]> {
      const flat = await redis.zrevrange(keys.tenant.jobOps(tenantId), 0, limit - 1, 'WITHSCORES');
      const out: { jobKey: string; teraOps: number }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ jobKey: flat[i]!, teraOps: Number(flat[i + 1]) });
      return out;
    },
  };
}

export type Accounting = ReturnType<typeof createAccounting>;
