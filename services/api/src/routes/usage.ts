import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idSchema, type Tenant } from '@flopwatch/contracts';
import { levelOperations, tenantRisk, type PolicyPack, type TenantRisk } from '@flopwatch/policy';
import { sumUsage, teraToOps, type TenantUsage } from '@flopwatch/store';
import { READERS, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { notFound } from '../errors.js';
import { errors, idParams, operationsSchema } from '../schemas.js';
import { riskSchema } from './tenants.js';

const DAY_MS = 86_400_000;
const breakdown = z.record(z.string(), operationsSchema);

const usageSchema = z.object({
  asOf: z.string(),
  lastActivityAt: z.string().nullable(),
  totals: z.object({
    operations: operationsSchema.describe('estimate, all time'),
    upperBoundOperations: operationsSchema.describe('at 100 % utilization of the dense peak'),
    controlledTier1Operations: operationsSchema.describe('on controlled (3A090) hardware in Tier 1 countries'),
    gpuHours: z.number().min(0).describe('GPU-hours counted'),
    coveredGpuHours: z.object({
      duplicate: z.number().min(0).describe('reports whose whole interval was counted already (redeliveries, replays, a second producer)'),
      overlap: z.number().min(0).describe('the already-counted part of overlapping re-reports'),
    }).describe('GPU-hours reported again for time already counted: accounted for, not counted twice'),
  }),
  windows: z.object({ '24h': operationsSchema, '7d': operationsSchema, '30d': operationsSchema, '365d': operationsSchema }).describe('trailing, ending now'),
  breakdown: z.object({ byCountry: breakdown, byTier: breakdown, byModel: breakdown, byLineage: breakdown }),
  burnRate: z.object({ operationsPerDay: operationsSchema, window: z.literal('24h') }),
  projections: z.array(z.object({
    threshold: z.enum(['tenant', 'frontier']),
    level: z.number(),
    severity: z.string(),
    operations: operationsSchema.describe('where the level lies'),
    observedOperations: operationsSchema.describe('tenant: trailing window of thresholds.tenant.windowDays; frontier: all time'),
    reached: z.boolean(),
    projectedAt: z.string().nullable().describe('when the burn rate reaches the level; null when reached or no burn'),
  })),
});

const tenantUsageSchema = usageSchema.extend({ tenantId: z.string(), registered: z.boolean(), groupId: z.string().nullable(), risk: riskSchema });
const groupUsageSchema = usageSchema.extend({
  groupId: z.string(),
  members: z.array(z.object({ tenantId: z.string(), operations: operationsSchema, risk: riskSchema })),
  risk: z.object({ tier: z.union([z.literal(1), z.literal(2), z.literal(3)]), trusted: z.boolean(), reasons: z.array(z.string()) }),
});

/** Totals, windows, breakdowns, burn rate and projected crossings, in operations. */
function present(u: TenantUsage, pack: PolicyPack, now: Date) {
  const ops = (tera: number) => teraToOps(tera);
  const map = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, ops(v)]));
  const perDay = ops(u.windows.h24);
  const windowed = pack.thresholds.tenant.windowDays <= 365 ? ops(u.windows.d365) : ops(u.teraOps);
  const project = (threshold: 'tenant' | 'frontier', total: number, observed: number) =>
    pack.levels.map((level) => {
      const at = levelOperations(level, total);
      const reached = observed >= at;
      const projectedAt = !reached && perDay > 0 ? new Date(now.getTime() + ((at - observed) / perDay) * DAY_MS).toISOString() : null;
      return { threshold, level: level.fraction, severity: level.severity, operations: at, observedOperations: observed, reached, projectedAt };
    });
  return {
    asOf: now.toISOString(),
    lastActivityAt: u.lastActivityMs === null ? null : new Date(u.lastActivityMs).toISOString(),
    totals: { operations: ops(u.teraOps), upperBoundOperations: ops(u.upperTeraOps), controlledTier1Operations: ops(u.controlledTier1TeraOps), gpuHours: u.gpuMicroseconds / 3.6e9,
      coveredGpuHours: { duplicate: u.coveredGpuMicroseconds.duplicate / 3.6e9, overlap: u.coveredGpuMicroseconds.overlap / 3.6e9 } },
    windows: { '24h': ops(u.windows.h24), '7d': ops(u.windows.d7), '30d': ops(u.windows.d30), '365d': ops(u.windows.d365) },
    breakdown: { byCountry: map(u.byCountry), byTier: map(u.byTier), byModel: map(u.byModel), byLineage: map(u.byLineage) },
    burnRate: { operationsPerDay: perDay, window: '24h' as const },
    projections: [...project('tenant', pack.thresholds.tenant.operations, windowed), ...project('frontier', pack.thresholds.frontier.operations, ops(u.teraOps))],
  };
}

/** GET /v1/tenants/:id/usage and /v1/groups/:id/usage. */
export const usageRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry, usage } = deps.store;
  const now = deps.now ?? (() => new Date());

  app.get('/tenants/:id/usage', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['usage'], summary: "A tenant's usage and risk (an unregistered tenant has KYC status unknown)", params: idParams, response: { 200: tenantUsageSchema, ...errors() } },
  }, async (request) => {
    const { id } = request.params;
    const at = now();
    const [u, tenant, groupId] = await Promise.all([usage.tenant(id, at), registry.getTenant<Tenant>(id), registry.groupOf(id)]);
    return { tenantId: id, registered: tenant !== null, groupId, risk: tenantRisk(tenant ?? undefined, deps.pack), ...present(u, deps.pack, at) };
  });

  app.get('/groups/:id/usage', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['usage'], summary: 'A group of linked tenants: summed usage, members and their risk', params: z.object({ id: idSchema }), response: { 200: groupUsageSchema, ...errors(404) } },
  }, async (request) => {
    const { id } = request.params;
    const members = await registry.groupMembers(id);
    if (members.length === 0) throw notFound('group', id);
    const at = now();
    const [usages, records] = await Promise.all([Promise.all(members.map((m) => usage.tenant(m, at))), registry.getTenants<Tenant>(members)]);
    const risks: TenantRisk[] = members.map((m) => tenantRisk(records.get(m) ?? undefined, deps.pack));
    const worst = Math.max(...risks.map((r) => r.tier)) as 1 | 2 | 3;
    return {
      groupId: id,
      members: members.map((m, i) => ({ tenantId: m, operations: teraToOps(usages[i]!.teraOps), risk: risks[i]! })),
      risk: { tier: worst, trusted: risks.every((r) => r.trusted), reasons: risks.flatMap((r, i) => r.reasons.map((reason) => `${members[i]}: ${reason}`)) },
      ...present(sumUsage(usages), deps.pack, at),
    };
  });
};
