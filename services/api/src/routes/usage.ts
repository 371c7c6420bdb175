import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { alertRuleSchema, alertScopeSchema, idSchema, MEASURES, severitySchema, type SubjectSnapshot, type TenantBooks } from '@flopwatch/contracts';
import { burnPerDay, standing, standings, tenantRisk, trailingOperations, type PolicyPack, type Standing, type TenantRisk } from '@flopwatch/policy';
import { sumUsage, teraToOps, type TenantUsage } from '@flopwatch/store';
import { READERS, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { notFound } from '../errors.js';
import { errors, idParams, operationsSchema } from '../schemas.js';
import { riskSchema } from './tenants.js';

const breakdown = z.record(z.string(), operationsSchema);

const coverageSchema = z.object({
  measuredGpuHours: z.number().min(0),
  allocatedGpuHours: z.number().min(0),
  ratio: z.number().min(0).nullable().describe('measured / allocated; null with no allocation known'),
});
const coverageOf = (c: { measuredGpuMicroseconds: number; allocatedGpuMicroseconds: number }) => ({
  measuredGpuHours: c.measuredGpuMicroseconds / 3.6e9,
  allocatedGpuHours: c.allocatedGpuMicroseconds / 3.6e9,
  ratio: c.allocatedGpuMicroseconds > 0 ? c.measuredGpuMicroseconds / c.allocatedGpuMicroseconds : null,
});

export const standingSchema = z.object({
  rule: alertRuleSchema,
  scope: alertScopeSchema,
  subject: z.string(),
  measure: z.enum(MEASURES),
  quantity: z.enum(['operations', 'h100e']),
  measured: z.number().describe('operations of the measure (H100-equivalents held for large-untrusted-cluster)'),
  threshold: z.number().describe('the threshold, or the limit of a limit rule'),
  perDay: z.number().describe('operations of the measure per day over the burn window'),
  projectedCrossingAt: z.string().nullable(),
  levels: z.array(z.object({
    level: z.number(), severity: severitySchema, label: z.string(), operations: z.number(), reached: z.boolean(), projectedAt: z.string().nullable(),
  })),
}).meta({ id: 'RuleStanding' });

const usageSchema = z.object({
  lastActivityAt: z.string().nullable(),
  totals: z.object({
    operations: operationsSchema.describe('estimate, all time'),
    upperBoundOperations: operationsSchema.describe('at 100 % utilization of the dense peak'),
    controlledTier1Operations: operationsSchema.describe('on controlled (3A090) hardware in Tier 1 countries'),
    controlledOperations: operationsSchema.describe('on controlled (3A090) hardware in any country'),
    gpuHours: z.number().min(0).describe('GPU-hours counted'),
    coveredGpuHours: z.object({
      duplicate: z.number().min(0).describe('reports whose whole interval was counted already (redeliveries, replays, a second producer)'),
      overlap: z.number().min(0).describe('the already-counted part of overlapping re-reports'),
      measured: z.number().min(0).describe('allocated time (Slurm poller, jobcomp) that measured reports (DCGM) had counted'),
      pruned: z.number().min(0).describe('time before its slice\'s tombstone (counted, then pruned)'),
    }).describe('GPU-hours reported again for time already counted: accounted for, not counted twice'),
    supersededGpuHours: z.number().min(0).describe('GPU-hours first counted at an allocation\'s rate, then re-rated by a measured report'),
  }),
  coverage: coverageSchema.describe('slice time known as measured (DCGM) against time known as allocated (Slurm), each once'),
  conflicts: z.object({
    count: z.number().int().min(0).describe('reports that overlapped covered time of their kind at another rate (the first counted wins)'),
    gpuHours: z.number().min(0).describe('their GPU-hours that overlapped'),
  }),
  asOf: z.string().describe('the event time windows, burn rate and projections are measured at: the books\' event clock (latest usage counted for any tenant) or this subject\'s latest usage, whichever is later; the wall clock when the books are empty'),
  windows: z.object({ '24h': operationsSchema, '7d': operationsSchema, '30d': operationsSchema, '365d': operationsSchema }).describe('trailing, ending at asOf, all hardware'),
  breakdown: z.object({ byCountry: breakdown, byTier: breakdown, byModel: breakdown, byLineage: breakdown }),
  burnRate: z.object({ operationsPerDay: operationsSchema, window: z.string(), measure: z.enum(MEASURES).describe("tenant-approach's measure, as the rules burn it") }),
  projections: z.array(z.object({
    threshold: z.enum(['tenant', 'frontier']),
    rule: z.enum(['tenant-approach', 'frontier-approach']).describe('the rule whose measure, levels and burn rate the projection is'),
    level: z.number(),
    severity: z.string(),
    operations: operationsSchema.describe('where the level lies'),
    observedOperations: operationsSchema.describe("tenant: tenant-approach's measure over the trailing thresholds.tenant.windowDays; frontier: frontier-approach's measure, all time"),
    reached: z.boolean(),
    projectedAt: z.string().nullable().describe('when the burn rate reaches the level; null when reached or no burn'),
  })),
  standing: z.array(standingSchema).describe('where the subject stands against every rule measured in its scope, as the rules measure it'),
});

const tenantUsageSchema = usageSchema.extend({
  tenantId: z.string(), registered: z.boolean(), groupId: z.string().nullable(), risk: riskSchema,
  topJobs: z.array(z.object({ jobKey: z.string(), operations: operationsSchema, coverage: coverageSchema })).describe('the biggest jobs by operations, with their coverage'),
  latestConflicts: z.array(z.object({
    eventId: z.string().nullable(), source: z.string().nullable(), jobKey: z.string(), node: z.string().nullable(),
    start: z.string(), end: z.string(), kind: z.enum(['measured', 'allocated']),
    overlapGpuSeconds: z.number().min(0), countedOperationsPerSecond: z.number(), reportedOperationsPerSecond: z.number(),
    rateDifference: z.number().nullable().describe('reported / counted − 1'),
  })).describe('the latest conflicting reports (at most 10 shown, 50 kept): counted as the first report said, kept as evidence'),
});
const groupUsageSchema = usageSchema.extend({
  groupId: z.string(),
  members: z.array(z.object({ tenantId: z.string(), operations: operationsSchema, risk: riskSchema })),
  risk: z.object({ tier: z.union([z.literal(1), z.literal(2), z.literal(3)]), trusted: z.boolean(), reasons: z.array(z.string()) }),
});

/** The usage answer's projections: tenant-approach's and frontier-approach's standing, level by level. */
function projections(s: SubjectSnapshot, pack: PolicyPack) {
  const of = (threshold: 'tenant' | 'frontier', rule: 'tenant-approach' | 'frontier-approach') => {
    const st = standing(rule, s, pack)!;
    return st.levels.map((l) => ({ threshold, rule, level: l.level, severity: l.severity, operations: l.operations, observedOperations: st.measured, reached: l.reached, projectedAt: l.projectedAt }));
  };
  return [...of('tenant', 'tenant-approach'), ...of('frontier', 'frontier-approach')];
}

/**
 * Totals, windows, breakdowns, burn rate and projected crossings, in operations. Windows, burn rate,
 * projections and standing are measured at the snapshot's event time (`asOf`: the books' event clock
 * or the subject's latest usage, whichever is later), and the projections and standing are the rules'
 * own (policy's standing), so a date shown here is the date a rule would compute.
 */
function present(u: TenantUsage, s: Extract<SubjectSnapshot, { scope: 'tenant' | 'group' }>, pack: PolicyPack) {
  const ops = (tera: number) => teraToOps(tera);
  const map = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, ops(v)]));
  const books: TenantBooks[] = s.scope === 'tenant' ? [s.tenant.books] : s.members.map((m) => m.books);
  const asOfMs = s.asOfMs;
  const sum = (f: (b: TenantBooks) => number) => books.reduce((a, b) => a + f(b), 0);
  const window = (days: number) => sum((b) => trailingOperations(b, 'all', days, asOfMs));
  const approach: Standing = standing('tenant-approach', s, pack)!;
  return {
    asOf: new Date(asOfMs).toISOString(),
    lastActivityAt: u.lastActivityMs === null ? null : new Date(u.lastActivityMs).toISOString(),
    totals: { operations: ops(u.teraOps), upperBoundOperations: ops(u.upperTeraOps), controlledTier1Operations: ops(u.controlledTier1TeraOps),
      controlledOperations: sum((b) => b.split.controlled), gpuHours: u.gpuMicroseconds / 3.6e9,
      coveredGpuHours: {
        duplicate: u.coveredGpuMicroseconds.duplicate / 3.6e9, overlap: u.coveredGpuMicroseconds.overlap / 3.6e9,
        measured: u.coveredGpuMicroseconds.measured / 3.6e9, pruned: u.coveredGpuMicroseconds.pruned / 3.6e9,
      },
      supersededGpuHours: u.supersededGpuMicroseconds / 3.6e9 },
    coverage: coverageOf(u.coverage),
    conflicts: { count: u.conflicts.count, gpuHours: u.conflicts.gpuMicroseconds / 3.6e9 },
    windows: { '24h': sum((b) => burnPerDay(b, 'all', 1, asOfMs)), '7d': window(7), '30d': window(30), '365d': window(365) },
    breakdown: { byCountry: map(u.byCountry), byTier: map(u.byTier), byModel: map(u.byModel), byLineage: map(u.byLineage) },
    burnRate: { operationsPerDay: approach.perDay, window: pack.rules.velocity.burnWindowDays <= 1 ? '24h' : `${pack.rules.velocity.burnWindowDays}d`, measure: approach.measure },
    projections: projections(s, pack),
    standing: standings(s, pack),
  };
}

/** GET /v1/tenants/:id/usage and /v1/groups/:id/usage. */
export const usageRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { snapshots, usage } = deps.store;
  const now = deps.now ?? (() => new Date());

  app.get('/tenants/:id/usage', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['usage'], summary: "A tenant's usage and risk (an unregistered tenant has KYC status unknown)", params: idParams, response: { 200: tenantUsageSchema, ...errors() } },
  }, async (request) => {
    const { id } = request.params;
    const s = await snapshots.reader({ now: () => now().getTime() }).forTenant(id);
    const [u, jobs] = await Promise.all([usage.tenant(id, new Date(s.asOfMs)), usage.tenantJobs(id, 10)]);
    const { record, groupId } = s.tenant;
    return {
      tenantId: id, registered: record !== null, groupId, risk: tenantRisk(record ?? undefined, deps.pack), ...present(u, s, deps.pack),
      topJobs: jobs.jobs.map((j) => ({ jobKey: j.jobKey, operations: teraToOps(j.teraOps), coverage: coverageOf(j.coverage) })),
      latestConflicts: jobs.conflicts.map((c) => ({
        eventId: c.eventId, source: c.source, jobKey: c.jobKey, node: c.node,
        start: new Date(c.startMs).toISOString(), end: new Date(c.endMs).toISOString(), kind: c.measured ? 'measured' as const : 'allocated' as const,
        overlapGpuSeconds: c.overlapGpuSeconds,
        // tera-ops per ms → operations per second
        countedOperationsPerSecond: c.countedTeraOpsPerMs * 1e15, reportedOperationsPerSecond: c.reportedTeraOpsPerMs * 1e15,
        rateDifference: c.rateDifference,
      })),
    };
  });

  app.get('/groups/:id/usage', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['usage'], summary: 'A group of linked tenants: summed usage, members and their risk', params: z.object({ id: idSchema }), response: { 200: groupUsageSchema, ...errors(404) } },
  }, async (request) => {
    const { id } = request.params;
    const s = await snapshots.reader({ now: () => now().getTime() }).forGroup(id);
    if (s.members.length === 0) throw notFound('group', id);
    const members = s.members.map((m) => m.id);
    const usages = await Promise.all(members.map((m) => usage.tenant(m, new Date(s.asOfMs))));
    const risks: TenantRisk[] = s.members.map((m) => tenantRisk(m.record ?? undefined, deps.pack));
    const worst = Math.max(...risks.map((r) => r.tier)) as 1 | 2 | 3;
    return {
      groupId: id,
      members: members.map((m, i) => ({ tenantId: m, operations: teraToOps(usages[i]!.teraOps), risk: risks[i]! })),
      risk: { tier: worst, trusted: risks.every((r) => r.trusted), reasons: risks.flatMap((r, i) => r.reasons.map((reason) => `${members[i]}: ${reason}`)) },
      ...present(sumUsage(usages), s, deps.pack),
    };
  });
};
