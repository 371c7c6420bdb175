// The figures of a compute statement, read from the books. The API issues statements with it, and
// `pnpm statement:reproduce` recomputes them with it over a scratch prefix fed from the telemetry
// topic, so both sides compute the same things the same way.
import type { MeasureTeraOps, RefusedReport, StatementBooks } from '@flopwatch/store';

export const DAY_MS = 86_400_000;

export type SubjectKind = 'tenant' | 'group' | 'lineage';

/** A period of whole UTC days, inclusive at both ends (day indexes since the epoch). */
export interface DayPeriod {
  fromDay: number;
  toDay: number;
}

export const dayIndex = (isoDate: string): number => Date.parse(`${isoDate}T00:00:00.000Z`) / DAY_MS;
export const isoDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

const UNATTRIBUTED = 'messages dead-lettered before they reached the books (invalid JSON, a schema violation, an unknown accelerator or country, an interval in the future or too long): they name no tenant the books can trust, so refused time counts only reports the books refused (interval_too_late, mixed_granularity, apply_failed); the others are on the DLQ topic, counted in flopwatch_ingest_dead_lettered_total{reason}';

/** What the books cannot give for a period, said in the statement instead of approximated. */
export const NOT_KEPT: Record<SubjectKind, string[]> = {
  tenant: [
    'period.byTier, period.byCountry, period.byAccelerator, period GPU time, covered and coverage time: the books keep these per tenant for all time only; they are given under cumulative, through books.eventClock',
    UNATTRIBUTED,
  ],
  group: [
    'period.byTier, period.byCountry, period.byAccelerator, period GPU time, covered and coverage time: the books keep these per tenant for all time only; they are given under cumulative (summed over subject.tenants), through books.eventClock',
    UNATTRIBUTED,
  ],
  lineage: [
    'period figures: the books keep a lineage\'s operations for all time only, not per day',
    'byAccelerator, GPU time, covered and coverage time: the books do not keep them per lineage (see the contributing tenants\' statements)',
    'ancestors\' operations and a base model\'s pretraining: this statement gives the lineage\'s own operations; each ancestor has its own statement',
    'refused time: reports the books refused are dead-lettered with a reason; the books keep no per-lineage figure of their time',
  ],
};

const addInto = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};
const sorted = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const zero = (): MeasureTeraOps => ({ all: 0, controlled: 0, controlledTier1: 0 });

/** Refused reports by reason: how many, and their GPU-µs. */
function refusedBy(list: RefusedReport[]) {
  const reports: Record<string, number> = {};
  const gpuMicroseconds: Record<string, number> = {};
  for (const r of list) {
    reports[r.reason] = (reports[r.reason] ?? 0) + 1;
    gpuMicroseconds[r.reason] = (gpuMicroseconds[r.reason] ?? 0) + r.gpuMicroseconds;
  }
  return { reports: sorted(reports), gpuMicroseconds: sorted(gpuMicroseconds) };
}

/** Tenants' figures summed: every sum is of integers, so exact. */
async function tenantFigures(books: StatementBooks, tenants: string[], period: DayPeriod) {
  const [cums, dayMaps, refusals] = await Promise.all([
    Promise.all(tenants.map((t) => books.cumulative(t))),
    Promise.all(tenants.map((t) => books.days(t, period.fromDay, period.toDay))),
    Promise.all(tenants.map((t) => books.refused(t))),
  ]);
  const refused = refusals.flat();
  const inPeriod = (r: RefusedReport) => Math.floor(r.endMs / DAY_MS) >= period.fromDay && Math.floor(r.endMs / DAY_MS) <= period.toDay;
  const byDay = new Map<number, MeasureTeraOps>();
  for (const m of dayMaps) {
    for (const [day, v] of m) {
      const d = byDay.get(day) ?? zero();
      d.all += v.all;
      d.controlled += v.controlled;
      d.controlledTier1 += v.controlledTier1;
      byDay.set(day, d);
    }
  }
  const days = [...byDay].sort((a, b) => a[0] - b[0]).map(([day, v]) => ({ day: isoDay(day), ...v }));
  const periodTotal = days.reduce((acc, d) => ({ all: acc.all + d.all, controlled: acc.controlled + d.controlled, controlledTier1: acc.controlledTier1 + d.controlledTier1 }), zero());
  const c = {
    teraOperations: { all: 0, controlled: 0, controlledTier1: 0, upperBound: 0 },
    byTier: {} as Record<string, number>, byCountry: {} as Record<string, number>, byAccelerator: {} as Record<string, number>,
    gpuMicroseconds: 0,
    coveredGpuMicroseconds: { duplicate: 0, overlap: 0, measured: 0, pruned: 0 },
    supersededGpuMicroseconds: 0,
    coverage: { measuredGpuMicroseconds: 0, allocatedGpuMicroseconds: 0 },
    conflicts: { count: 0, gpuMicroseconds: 0 },
  };
  let latestEndMs: number | null = null;
  for (const x of cums) {
    c.teraOperations.all += x.teraOps.all;
    c.teraOperations.controlled += x.teraOps.controlled;
    c.teraOperations.controlledTier1 += x.teraOps.controlledTier1;
    c.teraOperations.upperBound += x.teraOps.upperBound;
    addInto(c.byTier, x.byTier);
    addInto(c.byCountry, x.byCountry);
    addInto(c.byAccelerator, x.byAccelerator);
    c.gpuMicroseconds += x.gpuMicroseconds;
    for (const k of ['duplicate', 'overlap', 'measured', 'pruned'] as const) c.coveredGpuMicroseconds[k] += x.coveredGpuMicroseconds[k];
    c.supersededGpuMicroseconds += x.supersededGpuMicroseconds;
    c.coverage.measuredGpuMicroseconds += x.coverage.measuredGpuMicroseconds;
    c.coverage.allocatedGpuMicroseconds += x.coverage.allocatedGpuMicroseconds;
    c.conflicts.count += x.conflicts.count;
    c.conflicts.gpuMicroseconds += x.conflicts.gpuMicroseconds;
    if (x.latestEndMs !== null) latestEndMs = Math.max(latestEndMs ?? 0, x.latestEndMs);
  }
  const covered = c.coveredGpuMicroseconds;
  return {
    latestEndMs,
    figures: {
      period: { teraOperations: periodTotal, byDay: days, refused: refusedBy(refused.filter(inPeriod)) },
      cumulative: {
        ...c,
        byTier: sorted(c.byTier), byCountry: sorted(c.byCountry), byAccelerator: sorted(c.byAccelerator),
        gpuHours: c.gpuMicroseconds / 3.6e9,
        coveredGpuHours: (covered.duplicate + covered.overlap + covered.measured + covered.pruned) / 3.6e9,
        refused: refusedBy(refused),
      },
    },
  };
}

async function lineageFigures(books: StatementBooks, lineageId: string) {
  const shares = await books.lineageShares(lineageId);
  const total = { all: 0, controlled: 0, controlledTier1: 0 };
  const byTier: Record<string, number> = {};
  const byCountry: Record<string, number> = {};
  const byTenant: Record<string, MeasureTeraOps> = {};
  for (const [t, s] of shares) {
    total.all += s.all;
    total.controlled += s.controlled;
    total.controlledTier1 += s.controlledTier1;
    addInto(byTier, s.byTier);
    addInto(byCountry, s.byCountry);
    byTenant[t] = { all: s.all, controlled: s.controlled, controlledTier1: s.controlledTier1 };
  }
  return { tenants: [...shares.keys()], figures: { period: null, cumulative: { teraOperations: total, byTier: sorted(byTier), byCountry: sorted(byCountry), byTenant } } };
}

/**
 * A subject's figures: for a tenant or a group (`tenants`: the group's members), the period's day
 * buckets and the all-time figures; for a lineage, its own all-time operations per contributing
 * tenant (`tenants` is ignored: the contributors are read from the books).
 */
export async function readFigures(books: StatementBooks, subject: { kind: SubjectKind; id: string; tenants: string[] }, period: DayPeriod) {
  if (subject.kind === 'lineage') {
    const l = await lineageFigures(books, subject.id);
    return { tenants: l.tenants, latestEndMs: null, figures: l.figures };
  }
  const t = await tenantFigures(books, subject.tenants, period);
  return { tenants: subject.tenants, latestEndMs: t.latestEndMs, figures: t.figures };
}

export type StatementFigures = Awaited<ReturnType<typeof readFigures>>['figures'];
