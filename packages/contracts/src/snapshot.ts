import type { Tenant } from './tenant.js';

/**
 * What a rule counts (named per rule in the policy pack): operations on controlled (3A090) hardware
 * in Tier 1 countries, on controlled hardware anywhere, or on any hardware.
 */
export const MEASURES = ['controlledTier1', 'controlled', 'all'] as const;
export type Measure = (typeof MEASURES)[number];

/** Operations (not tera-operations) by measure, and where they ran. */
export interface HardwareSplit {
  all: number;
  controlled: number;
  controlledTier1: number;
  /** Tier ('1' | '2' | '3') → operations. */
  byTier: Record<string, number>;
  /** ISO country → operations. */
  byCountry: Record<string, number>;
}

/** One tenant's books as the rules read them (operations; bucket indexes are days or hours since the epoch). */
export interface TenantBooks {
  tenantId: string;
  /** All time. */
  split: HardwareSplit;
  /** Accelerator model → operations, all time. */
  byModel: Record<string, number>;
  /** Day index → operations, per measure. */
  days: Record<Measure, Record<number, number>>;
  /** Hour index → operations, per measure (the trailing 24 h the books keep). */
  hours: Record<Measure, Record<number, number>>;
  /** End of the latest counted interval (epoch ms), null before any. */
  latestEndMs: number | null;
  /** H100-equivalents held now on controlled Tier 1 hardware. */
  h100eActive: number;
  /** Jobs holding controlled Tier 1 hardware now, largest allocation first. */
  heldJobs: { jobId: string; h100e: number; operations: number }[];
  /** The largest jobs by operations. */
  topJobs: { jobId: string; operations: number }[];
  /** Reports that conflicted with counted time of their kind at another rate; absent when none were recorded. */
  conflicts?: TenantConflicts;
}

/** One conflicting report as the books keep it for evidence (the latest few per tenant). */
export interface ConflictEvidence {
  eventId: string | null;
  source: string | null;
  jobId: string;
  node: string | null;
  startMs: number;
  endMs: number;
  /** Both reports' kind: measured (true) or allocated (false). */
  measured: boolean;
  /** GPU-seconds of the report that overlapped time counted at the other rate. */
  overlapGpuSeconds: number;
  countedTeraOpsPerMs: number;
  reportedTeraOpsPerMs: number;
}

/**
 * A tenant's conflicting reports, all time (docs/accounting.md, "Several sources for one job"): the
 * books keep the first report of a slice's time; a later one at another rate is counted nothing.
 */
export interface TenantConflicts {
  count: number;
  /** GPU-seconds the conflicting reports covered. */
  gpuSeconds: number;
  /**
   * Operations per measure that conflicting reports claim over their overlaps above what was counted
   * there (a report at a lower rate disputes none): the usage the books declined to count.
   */
  disputed: Record<Measure, number>;
  /** The latest conflicting reports, newest first. */
  latest: ConflictEvidence[];
}

/** A tenant as the rules see it: its KYC record (null when unregistered), group and books. */
export interface TenantSnapshot {
  id: string;
  record: Tenant | null;
  groupId: string | null;
  books: TenantBooks;
}

/** An edge of a lineage's ancestry: declared (API or telemetry parentId) or found from a checkpoint. */
export interface LineageEdge {
  child: string;
  parent: string;
  kind: 'declared' | 'checkpoint';
  /** The checkpoint read (kind `checkpoint`). */
  checkpoint?: string;
  /** The tenant whose job made the link. */
  tenantId?: string;
}

/** A lineage, its own contributions and its ancestry graph (every ancestor once). */
export interface LineageSnapshot {
  id: string;
  /** This lineage's own operations per contributing tenant. */
  own: Record<string, HardwareSplit>;
  /** Every ancestor reachable through any edge, once, nearest first, with its own contributions. */
  ancestors: { id: string; own: Record<string, HardwareSplit> }[];
  /** The edges among the lineage and its ancestors. */
  edges: LineageEdge[];
  /** A closed-weight base model's declared pretraining operations (0 for published weights or none). */
  baseModelOperations: number;
}

/** What one evaluation reads: a subject, its tenants, and the event time it is evaluated at. */
export type SubjectSnapshot =
  | { scope: 'tenant'; subject: string; asOfMs: number; tenant: TenantSnapshot }
  | { scope: 'group'; subject: string; asOfMs: number; members: TenantSnapshot[] }
  | { scope: 'lineage'; subject: string; asOfMs: number; lineage: LineageSnapshot; tenants: TenantSnapshot[] };

/**
 * The event time an evaluation measures windows and burn rates at: the books' event clock (the latest
 * interval end counted for any tenant) or the subject's own latest usage, whichever is later; `fallback`
 * (a wall clock) when the books have neither.
 */
export function evaluationTime(clockMs: number | null, latestEnds: (number | null)[], fallback: number): number {
  const known = [clockMs, ...latestEnds].filter((v): v is number => v !== null && v > 0);
  return known.length > 0 ? Math.max(...known) : fallback;
}
