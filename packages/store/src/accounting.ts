import { Packr } from 'msgpackr';
import type { ConflictEvidence } from '@flopwatch/contracts';
import type { Keys } from './keys.js';
import { countedTeraOps } from './units.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';

/** One validated, estimated usage report, ready to be counted. */
export interface UsageRecord {
  /** Kafka offset of the message that carried the report: names the message a rejection dead-letters. */
  offset: string;
  tenantId: string;
  /** Unique per tenant: `<cluster>/<jobId>`. */
  jobKey: string;
  /** The host, or host/GPU, the report covers; null when it covers the whole job. */
  node: string | null;
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
  /** The hardware is controlled (3A090), wherever it stands (rules measuring `controlled` count it). */
  controlled?: boolean;
  /** H100-equivalents the report's GPUs amount to. */
  h100e: number;
  /**
   * The figure is measured (the event carries `utilization.tensorActive` or `operations`), not the
   * allocation at the pack's default utilization. Measured time supersedes allocated time of the same
   * slice whatever the arrival order (docs/accounting.md, "Several sources for one job"). Default false.
   */
  measured?: boolean;
  /**
   * The event's id and source, named in a conflict record (evidence). The ingest leaves them out of
   * its hot path (two more strings per record cost it about 10 % of its CPU in `pnpm bench:ingest`)
   * and names them through `applyBatch`'s `originOf` only for the rare report that conflicts.
   */
  eventId?: string;
  source?: string;
}

/** Where a report came from, for evidence: its event's id and source. */
export type OriginOf = (record: UsageRecord) => { eventId: string | null; source: string | null };

/**
 * A report that overlapped covered time of its own kind (measured or allocated) at another rate: the
 * first figure counted stays; this one is evidence.
 */
export interface ConflictRecord {
  record: UsageRecord;
  /** GPU-µs of the report that overlapped time counted at the other rate. */
  overlapGpuMicroseconds: number;
  /** The rate counted for the overlapped time (tera-ops per ms). */
  countedTeraOpsPerMs: number;
  /** This report's rate (tera-ops per ms). */
  reportedTeraOpsPerMs: number;
}

/** A conflict as kept per tenant (evidence on the tenant's case and in the usage API). */
export type StoredConflict = Omit<ConflictEvidence, 'jobId'> & {
  jobKey: string;
  /** reported / counted − 1 (null when the counted rate is 0). */
  rateDifference: number | null;
};

/** Measured and allocated GPU-µs newly known (each once per slice-time), for a cluster or a job. */
export interface Coverage {
  measuredGpuMicroseconds: number;
  allocatedGpuMicroseconds: number;
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
  /** H100-equivalents held by the tenant's recently active slices on controlled Tier 1 hardware. */
  h100eActive: number;
  /** The tenant's watermark: the latest interval end counted for it (epoch ms), 0 before any. */
  watermarkMs: number;
}

/** Why the books refused a record; the ingest dead-letters its message with this reason. */
export type RejectionReason = 'interval_too_late' | 'mixed_granularity' | 'apply_failed';

export interface RejectedRecord {
  record: UsageRecord;
  reason: RejectionReason;
  message: string;
}

export interface TenantApplyResult {
  tenantId: string;
  /** Records that counted some time not covered before. */
  counted: number;
  /** Records whose whole interval was covered already (a duplicate, a replay). */
  duplicates: number;
  /** Records partly covered already (overlapping re-reports); their uncovered part counted. */
  overlaps: number;
  countedMs: number;
  /**
   * GPU-µs reported and not counted again: duplicates and covered parts of overlaps (time of the same
   * kind), allocated time already measured, and time before a slice's tombstone (pruned).
   */
  covered: { duplicateGpuMicroseconds: number; overlapGpuMicroseconds: number; measuredGpuMicroseconds: number; prunedGpuMicroseconds: number };
  /** GPU-µs of allocated time that measured reports superseded (re-rated: the books moved by the difference). */
  supersededGpuMicroseconds: number;
  /** Reports that overlapped covered time of their kind at another rate (counted as before; evidence). */
  conflicts: ConflictRecord[];
  /** Measured and allocated GPU-µs newly known, per cluster (the part of the job key before the '/'). */
  coverageByCluster: Map<string, Coverage>;
  rejected: RejectedRecord[];
  totals: TenantTotals;
  /** The tenant's contribution to each lineage named in the batch, tera-operations. */
  lineages: Map<string, number>;
  /** An upper bound of each of those lineages' own tera-operations (see keys.lineage.upperBound). */
  lineageUpperBounds: Map<string, number>;
}

export interface AccountingOptions {
  redis: RedisClient;
  keys: Keys;
  /** A slice silent for longer than this stops counting as held (large-cluster detection). */
  activeWindowMs: number;
  /**
   * Covered time of a slice older than this before the tenant's watermark is pruned, leaving a
   * tombstone; reports before a slice's tombstone are refused (`interval_too_late`).
   */
  maxLatenessMs: number;
  /** Reports ending longer than this before the tenant's watermark are refused (`interval_too_late`). Default 400 days. */
  maxAgeMs?: number;
  /** The longest interval one report may cover (the policy's limit): part of the pruning horizon. */
  maxIntervalMs: number;
  /** Reports per script call; a tenant's larger share of a batch is applied in several calls. */
  chunkSize?: number;
}

const DAY_MS = 86_400_000;
/** Plain MessagePack (arrays, strings, numbers as doubles or integers): what Redis' cmsgpack reads. */
const packr = new Packr({ useRecords: false, moreTypes: false });
/** Idle slices and jobs pruned per script call: clean-up is amortised over the calls that follow. */
const PRUNE_PER_CALL = 200;
const FIELDS_BEFORE_LISTS = 20;
/** Numbers per report in the script's flat reports argument. */
const REPORT_FIELDS = 7;
/** Conflict records kept per tenant (the latest by report end): evidence, not an archive. */
export const CONFLICTS_KEPT = 50;

const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|MOVED|ASK|READONLY|NOREPLICAS|OOM)\b/;
const TRANSIENT_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError', 'AbortError']);
const TRANSIENT_CONNECTION = /Connection is closed|Stream isn't writeable|Command timed out|Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN/;

/**
 * Whether a Redis failure is worth retrying: the server is unreachable, busy, loading, failing over
 * or moving slots, or the wait was aborted. Anything else (a Lua error, a wrong type, a bug in the
 * caller) is deterministic: the same call fails the same way, so retrying it would stall.
 */
export function isTransientRedisError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return TRANSIENT_REPLY.test(err.message);
  if (TRANSIENT_NAMES.has(err.name)) return true;
  const code = (err as { code?: unknown }).code;
  return TRANSIENT_CONNECTION.test(err.message) || (typeof code === 'string' && TRANSIENT_CONNECTION.test(code));
}

function describeRejection(reason: RejectionReason, r: UsageRecord, watermarkMs: number, maxAgeMs: number, tombMs: number): string {
  const slice = r.node ? `${r.jobKey} node ${r.node}` : r.jobKey;
  if (reason === 'interval_too_late' && tombMs > 0) {
    return `interval of job ${slice} ends ${new Date(r.endMs).toISOString()}, before its slice's tombstone (${new Date(tombMs).toISOString()}): the slice's covered time up to then was counted and pruned, so this report cannot be told apart from it`;
  }
  if (reason === 'interval_too_late') {
    return `interval of job ${slice} ends ${new Date(r.endMs).toISOString()}, more than ${maxAgeMs / DAY_MS} days (limits.maxAgeDays) before tenant ${r.tenantId}'s latest counted usage (${new Date(watermarkMs).toISOString()})`;
  }
  return `job ${r.jobKey} of tenant ${r.tenantId} is already reported at another granularity (whole job vs per node vs per GPU); this report${r.node ? ` for node ${r.node}` : ' for the whole job'} would count the same GPU time twice`;
}

/** A usage slice's state as stored (see `sliceField`). */
export interface SliceState {
  /** Time counted at measured rates, [start, end) in epoch ms, sorted and disjoint. */
  measured: [number, number][];
  /** Time an allocation reported, with its rates; what of it measured time does not cover counts at them. */
  allocated: { startMs: number; endMs: number; teraOpsPerMs: number; upperTeraOpsPerMs: number; milliGpus: number }[];
  h100e: number | null;
  heldEndMs: number | null;
  /** The end of the slice's pruned covered time: a report ending by then is refused, one starting before counts after it. */
  tombMs: number | null;
}

/**
 * A usage slice's field in the tenant's cover hash (see lua/apply-usage-12.lua):
 * "measured|allocated|h100e|heldEnd|heldIdx|idleIdx|tomb|latest", measured "start,end;…", allocated
 * "start,end,rate,upper,milliGpus;…" (epoch ms, rates in tera-ops per ms), or a tombstone "~tomb".
 */
export function sliceField(value: string | null | undefined): SliceState {
  const v = value ?? '';
  const num = (x: string | undefined) => (x === undefined || x === '' ? null : Number(x));
  if (v.startsWith('~')) return { measured: [], allocated: [], h100e: null, heldEndMs: null, tombMs: Number(v.slice(1)) };
  const [measured = '', allocated = '', h100e, heldEnd, , , tomb] = v.split('|');
  return {
    measured: measured === '' ? [] : measured.split(';').map((r) => r.split(',').map(Number) as [number, number]),
    allocated: allocated === '' ? [] : allocated.split(';').map((r) => {
      const [startMs, endMs, teraOpsPerMs, upperTeraOpsPerMs, milliGpus] = r.split(',').map(Number) as [number, number, number, number, number];
      return { startMs, endMs, teraOpsPerMs, upperTeraOpsPerMs, milliGpus };
    }),
    h100e: num(h100e),
    heldEndMs: num(heldEnd),
    tombMs: num(tomb),
  };
}

/** The accounting facade the ingest calls: exact, idempotent application of usage records. */
export function createAccounting({ redis, keys, activeWindowMs, maxLatenessMs, maxAgeMs = 400 * DAY_MS, maxIntervalMs, chunkSize = 1000 }: AccountingOptions) {
  const scripts = defineScripts(redis);
  type ChunkResult = Omit<TenantApplyResult, 'tenantId' | 'totals' | 'lineageUpperBounds'> & { totals: TenantTotals | null };

  async function applyChunk(tenantId: string, records: UsageRecord[]): Promise<ChunkResult> {
    const k = keys.tenant;
    // Three MessagePack arguments, unpacked by Redis in C (see the script's header): the slices'
    // classes and the slices (each once per kind: measured or allocated), and the reports as one flat
    // array of numbers naming them.
    const classes: (string | number)[][] = [];
    const classIndex = new Map<string, number>();
    const slices: (string | number)[][] = [];
    // job → [allocated, measured] node → index: no key string per report.
    const sliceIndex = new Map<string, [Map<string, number>, Map<string, number>]>();
    const reports: number[] = new Array(records.length * REPORT_FIELDS);
    for (let i = 0, at = 0; i < records.length; i++) {
      const r = records[i]!;
      const ctl = r.controlledTier1 ? '1' : r.controlled ? 'c' : '0';
      const key = `${r.lineageId ?? ''}\t${r.country}\t${r.tier}\t${r.acceleratorId}\t${ctl}\t${r.h100e}`;
      let c = classIndex.get(key);
      if (c === undefined) {
        c = classes.length;
        classes.push([r.lineageId ?? '', r.country, String(r.tier), r.acceleratorId, ctl, r.h100e]);
        classIndex.set(key, c);
      }
      const node = r.node ?? '';
      let byKind = sliceIndex.get(r.jobKey);
      if (!byKind) sliceIndex.set(r.jobKey, (byKind = [new Map(), new Map()]));
      const kind = r.measured ? 1 : 0;
      const byNode = byKind[kind];
      let s = byNode.get(node);
      if (s === undefined) {
        s = slices.length;
        slices.push([r.jobKey, node, kind]);
        byNode.set(node, s);
      }
      reports[at++] = s;
      reports[at++] = c;
      reports[at++] = r.startMs;
      reports[at++] = r.endMs;
      reports[at++] = r.teraOpsPerMs;
      reports[at++] = r.upperTeraOpsPerMs;
      reports[at++] = r.milliGpus;
    }
    const reply = await scripts.applyUsage({
      keys: {
        totals: k.totals(tenantId), days: k.days(tenantId), hours: k.hours(tenantId), cover: k.cover(tenantId), slices: k.slices(tenantId),
        granularity: k.granularity(tenantId), jobs: k.jobs(tenantId), jobOps: k.jobOps(tenantId), lineages: k.lineages(tenantId),
        active: k.active(tenantId), coverage: k.coverage(tenantId), tombs: k.tombs(tenantId),
      },
      args: {
        activeWindowMs, latenessMs: maxLatenessMs, maxIntervalMs, pruneLimit: PRUNE_PER_CALL, maxAgeMs,
        classes: packr.pack(classes), slices: packr.pack(slices), reports: packr.pack(reports),
      },
    });
    const n = (i: number) => Number(reply[i] ?? 0);
    const watermarkMs = n(13);
    const rejected: RejectedRecord[] = [];
    let i = FIELDS_BEFORE_LISTS;
    for (let left = n(17); left > 0; left--, i += 3) {
      const record = records[n(i)]!;
      const reason = String(reply[i + 1]) as RejectionReason;
      rejected.push({ record, reason, message: describeRejection(reason, record, watermarkMs, maxAgeMs, n(i + 2)) });
    }
    const conflicts: ConflictRecord[] = [];
    for (let left = n(18); left > 0; left--, i += 4) {
      conflicts.push({ record: records[n(i)]!, overlapGpuMicroseconds: n(i + 1), countedTeraOpsPerMs: n(i + 2), reportedTeraOpsPerMs: n(i + 3) });
    }
    const coverageByCluster = new Map<string, Coverage>();
    for (let left = n(19); left > 0; left--, i += 3) {
      coverageByCluster.set(String(reply[i]), { measuredGpuMicroseconds: n(i + 1), allocatedGpuMicroseconds: n(i + 2) });
    }
    const lineages = new Map<string, number>();
    for (; i + 1 < reply.length; i += 2) lineages.set(String(reply[i]), Number(reply[i + 1]));
    return {
      counted: n(0), duplicates: n(1), overlaps: n(2), countedMs: n(3),
      covered: { duplicateGpuMicroseconds: n(4), overlapGpuMicroseconds: n(5), measuredGpuMicroseconds: n(14), prunedGpuMicroseconds: n(15) },
      supersededGpuMicroseconds: n(16),
      rejected, conflicts, coverageByCluster,
      totals: {
        teraOps: n(6), upperTeraOps: n(7), gpuMicroseconds: n(8), controlledTier1TeraOps: n(9),
        trailing365dTeraOps: n(10), trailing24hTeraOps: n(11), h100eActive: n(12), watermarkMs,
      },
      lineages,
    };
  }

  /**
   * Applies one chunk; a deterministic failure is narrowed down by halves to the records that cause
   * it, which are refused as `apply_failed`, and the rest are applied. Transient errors propagate
   * for the caller to retry (applying again is harmless: covered time is not counted twice).
   */
  async function applyIsolating(tenantId: string, records: UsageRecord[]): Promise<ChunkResult[]> {
    try {
      return [await applyChunk(tenantId, records)];
    } catch (err) {
      if (isTransientRedisError(err)) throw err;
      if (records.length === 1) {
        const record = records[0]!;
        const failed: RejectedRecord = { record, reason: 'apply_failed', message: `the accounting script refused the record: ${(err as Error).message}`.slice(0, 1000) };
        return [{ ...emptyChunk(), rejected: [failed] }];
      }
      const half = Math.ceil(records.length / 2);
      return [...(await applyIsolating(tenantId, records.slice(0, half))), ...(await applyIsolating(tenantId, records.slice(half)))];
    }
  }

  function emptyChunk(): ChunkResult {
    return {
      counted: 0, duplicates: 0, overlaps: 0, countedMs: 0,
      covered: { duplicateGpuMicroseconds: 0, overlapGpuMicroseconds: 0, measuredGpuMicroseconds: 0, prunedGpuMicroseconds: 0 },
      supersededGpuMicroseconds: 0, rejected: [], conflicts: [], coverageByCluster: new Map(), totals: null, lineages: new Map(),
    };
  }

  /**
   * Keeps the tenant's latest conflicts as evidence: a sorted set of JSON records scored by the
   * report's end, capped at CONFLICTS_KEPT. A record is deterministic in its report, so a replayed
   * report adds nothing (ZADD of the same member).
   */
  async function recordConflicts(tenantId: string, conflicts: ConflictRecord[], originOf: OriginOf | undefined): Promise<void> {
    if (conflicts.length === 0) return;
    const flat: (string | number)[] = [];
    for (const c of conflicts) {
      const r = c.record;
      const origin = r.eventId !== undefined ? { eventId: r.eventId, source: r.source ?? null } : (originOf?.(r) ?? { eventId: null, source: null });
      flat.push(r.endMs, JSON.stringify({
        eventId: origin.eventId, source: origin.source, jobKey: r.jobKey, node: r.node,
        startMs: r.startMs, endMs: r.endMs, measured: r.measured === true,
        overlapGpuSeconds: c.overlapGpuMicroseconds / 1e6,
        countedTeraOpsPerMs: c.countedTeraOpsPerMs, reportedTeraOpsPerMs: c.reportedTeraOpsPerMs,
        rateDifference: c.countedTeraOpsPerMs === 0 ? null : c.reportedTeraOpsPerMs / c.countedTeraOpsPerMs - 1,
      }));
    }
    const key = keys.tenant.conflicts(tenantId);
    await redis.multi().zadd(key, ...flat).zremrangebyrank(key, 0, -(CONFLICTS_KEPT + 1)).exec();
  }

  async function applyTenant(tenantId: string, records: UsageRecord[], originOf: OriginOf | undefined): Promise<TenantApplyResult> {
    const result: Omit<TenantApplyResult, 'totals'> & { totals: TenantTotals | null } = {
      tenantId, ...emptyChunk(), lineageUpperBounds: new Map(),
    };
    // A tenant's chunks run one after another, so "first granularity seen wins" follows the log.
    for (let from = 0; from < records.length; from += chunkSize) {
      for (const part of await applyIsolating(tenantId, records.slice(from, from + chunkSize))) {
        result.counted += part.counted;
        result.duplicates += part.duplicates;
        result.overlaps += part.overlaps;
        result.countedMs += part.countedMs;
        result.covered.duplicateGpuMicroseconds += part.covered.duplicateGpuMicroseconds;
        result.covered.overlapGpuMicroseconds += part.covered.overlapGpuMicroseconds;
        result.covered.measuredGpuMicroseconds += part.covered.measuredGpuMicroseconds;
        result.covered.prunedGpuMicroseconds += part.covered.prunedGpuMicroseconds;
        result.supersededGpuMicroseconds += part.supersededGpuMicroseconds;
        result.rejected.push(...part.rejected);
        result.conflicts.push(...part.conflicts);
        for (const [cluster, c] of part.coverageByCluster) {
          const sum = result.coverageByCluster.get(cluster) ?? { measuredGpuMicroseconds: 0, allocatedGpuMicroseconds: 0 };
          sum.measuredGpuMicroseconds += c.measuredGpuMicroseconds;
          sum.allocatedGpuMicroseconds += c.allocatedGpuMicroseconds;
          result.coverageByCluster.set(cluster, sum);
        }
        if (part.totals) result.totals = part.totals;
        for (const [l, v] of part.lineages) result.lineages.set(l, v);
      }
    }
    await recordConflicts(tenantId, result.conflicts, originOf);
    // Every record failed: read the totals as they stand, so rules still see the tenant's state.
    return { ...result, totals: result.totals ?? (await readTotals(tenantId)) };
  }

  async function readTotals(tenantId: string): Promise<TenantTotals> {
    const [ops, ub, gpu, ctl1, r365, r24, h100e, maxEnd] = await redis.hmget(keys.tenant.totals(tenantId), 'ops', 'ub', 'gpu_us', 'ctl1_ops', 'r365', 'r24', 'h100e_active', 'max_end');
    const n = (v: string | null | undefined) => Number(v ?? 0);
    return {
      teraOps: n(ops), upperTeraOps: n(ub), gpuMicroseconds: n(gpu), controlledTier1TeraOps: n(ctl1),
      trailing365dTeraOps: n(r365), trailing24hTeraOps: n(r24), h100eActive: n(h100e), watermarkMs: n(maxEnd),
    };
  }

  return {
    /**
     * Applies a batch of records: atomic script calls per tenant (chunks of `chunkSize`), tenants in
     * parallel. Records in log order, so the first granularity seen for a job wins. Safe to retry
     * with the same or an overlapping batch, from any topic or partition: time already covered is
     * not counted again.
     */
    /** `originOf` names a conflicting report's event (id, source) for the evidence, when its record does not. */
    async applyBatch(records: UsageRecord[], options: { originOf?: OriginOf } = {}): Promise<TenantApplyResult[]> {
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
        const whole = countedTeraOps(r.endMs - r.startMs, r.teraOpsPerMs);
        // A non-finite figure is refused by the script (apply_failed); it must not poison the bound.
        if (r.lineageId !== null && Number.isFinite(whole)) bounds.set(r.lineageId, (bounds.get(r.lineageId) ?? 0) + whole);
      }
      const [, upper] = await Promise.all([
        Promise.all([...contributors].map(([lineageId, tenants]) => redis.sadd(keys.lineage.tenants(lineageId), ...tenants))),
        Promise.all([...bounds].map(async ([lineageId, tera]) => [lineageId, await redis.incrby(keys.lineage.upperBound(lineageId), tera)] as const)),
      ]);
      const upperBounds = new Map(upper);
      const results = await Promise.all([...byTenant].map(([tenantId, list]) => applyTenant(tenantId, list, options.originOf)));
      for (const r of results) r.lineageUpperBounds = new Map([...r.lineages.keys()].map((l) => [l, upperBounds.get(l) ?? 0]));
      return results;
    },

    /**
     * Keeps each report the books refused, once per report (HSETNX on its slice, interval and kind, so
     * a replay or a retried batch adds nothing): its reason, end and GPU-µs, the refused time that
     * compute statements give. Called on the rare refusal path only, never per counted report.
     */
    async recordRefused(rejected: RejectedRecord[]): Promise<void> {
      await Promise.all(rejected.map(({ record: r, reason }) => {
        const gpuUs = r.milliGpus * (r.endMs - r.startMs);
        const field = `${r.jobKey}|${r.node ?? ''}|${r.startMs}|${r.endMs}|${r.measured ? 1 : 0}`;
        return redis.hsetnx(keys.tenant.refused(r.tenantId), field, `${reason},${r.endMs},${Number.isFinite(gpuUs) ? gpuUs : 0}`);
      }));
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

    /**
     * A tenant's totals hash, raw fields as numbers: for the accounting script's own tests only.
     * Everything else reads typed values (`totals`, books.ts, usage.ts).
     */
    async tenantTotals(tenantId: string): Promise<Record<string, number>> {
      const raw = await redis.hgetall(keys.tenant.totals(tenantId));
      return Object.fromEntries(Object.entries(raw).map(([f, v]) => [f, Number(v)]));
    },

    /** The tenant's totals as the apply script returns them. */
    totals: readTotals,

    /** The tenant's jobs holding controlled Tier 1 hardware now (summed over their slices), largest first. */
    async heldJobs(tenantId: string, limit = 10): Promise<{ jobKey: string; h100e: number; teraOps: number }[]> {
      // The active index holds exactly the slices that hold hardware; each slice's field says how much.
      const held = await redis.zrange(keys.tenant.active(tenantId), 0, -1);
      const values = held.length > 0 ? await redis.hmget(keys.tenant.cover(tenantId), ...held) : [];
      const byJob = new Map<string, number>();
      held.forEach((slice, i) => {
        const h100e = Number(sliceField(values[i]).h100e ?? 0);
        const jobKey = slice.split('|')[0]!;
        byJob.set(jobKey, (byJob.get(jobKey) ?? 0) + h100e);
      });
      const top = [...byJob].sort((a, b) => b[1] - a[1]).slice(0, limit);
      const ops = await Promise.all(top.map(([jobKey]) => redis.zscore(keys.tenant.jobOps(tenantId), jobKey)));
      return top.map(([jobKey, h100e], i) => ({ jobKey, h100e, teraOps: Number(ops[i] ?? 0) }));
    },

    /** Measured and allocated GPU-µs of each job (each once per slice-time); jobs never reported read as zero. */
    async jobCoverage(tenantId: string, jobKeys: string[]): Promise<Map<string, Coverage>> {
      if (jobKeys.length === 0) return new Map();
      // A live job's coverage rides in its granularity field ("g|idleIdx|m,a"); a pruned top job's is in the coverage hash.
      const [live, kept] = await Promise.all([redis.hmget(keys.tenant.granularity(tenantId), ...jobKeys), redis.hmget(keys.tenant.coverage(tenantId), ...jobKeys)]);
      return new Map(jobKeys.map((jobKey, i) => {
        const fromGran = live[i]?.split('|')[2];
        const [m = '0', a = '0'] = (fromGran || kept[i] || '0,0').split(',');
        return [jobKey, { measuredGpuMicroseconds: Number(m), allocatedGpuMicroseconds: Number(a) }];
      }));
    },

    /** The tenant's latest conflict records (see recordConflicts), newest first. */
    async conflicts(tenantId: string, limit = CONFLICTS_KEPT): Promise<StoredConflict[]> {
      const members = await redis.zrevrange(keys.tenant.conflicts(tenantId), 0, limit - 1);
      return members.map((m) => JSON.parse(m) as StoredConflict);
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
