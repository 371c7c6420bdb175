// Evidence a case page draws: the linked tenants of a group and what links them, a lineage's
// ancestry, the subject's cumulative operations by day with the rule's levels, and how the books
// reconciled the tenants' sources (coverage, conflicting reports).
import { z } from 'zod';
import type { Case, Tenant } from '@flopwatch/contracts';
import { RULES, type PolicyPack } from '@flopwatch/policy';
import { teraToOps, type Store } from '@flopwatch/store';

const DAY_MS = 86_400_000;

export const linkGraphSchema = z.object({
  nodes: z.array(z.object({ tenantId: z.string(), legalName: z.string().nullable(), hqCountry: z.string().nullable(), kycStatus: z.string() })),
  /** Two linked tenants, the identifiers linking them (`kind:value`, e.g. `paymentFingerprints:card-7`) and why each links. */
  edges: z.array(z.object({
    a: z.string(),
    b: z.string(),
    identifiers: z.array(z.string()),
    reasons: z.array(z.object({
      identifier: z.string(),
      kind: z.string(),
      a: z.string().describe("what the first tenant declared, as written"),
      b: z.string().describe("what the second tenant declared, as written"),
      score: z.number().describe('name similarity, 1 when the name keys are equal; 1 for exact identifiers'),
      why: z.string(),
    })),
  })),
  /** Identifiers these tenants share with more tenants than `LINK_MAX_SHARED`: shown, never a link (a webmail domain, a common name alone). */
  widelyShared: z.array(z.object({ identifier: z.string(), tenants: z.number().int() })),
}).meta({ id: 'LinkGraph' });

export const ancestrySchema = z.array(z.object({
  lineageId: z.string(),
  tenants: z.array(z.string()),
  /** How this lineage is linked to the next one up (null for the root). */
  link: z.object({ parentId: z.string(), kind: z.string(), checkpoint: z.string().nullable(), tenantId: z.string(), parentTenantId: z.string().nullable() }).nullable(),
})).meta({ id: 'Ancestry' });

export const seriesSchema = z.object({
  basis: z.string().describe('whose day buckets are summed'),
  tenants: z.array(z.string()),
  points: z.array(z.object({ day: z.string(), operations: z.number() })).describe('cumulative operations at the end of each day with usage'),
  levels: z.array(z.object({ fraction: z.number(), severity: z.string(), operations: z.number() })),
  alerts: z.array(z.object({ raisedAt: z.string(), level: z.number(), observedOperations: z.number() })),
  observedOperations: z.number(),
  projectedCrossingAt: z.string().nullable(),
}).meta({ id: 'CaseSeries' });

export const accountingEvidenceSchema = z.array(z.object({
  tenantId: z.string(),
  coverage: z.object({
    measuredGpuHours: z.number().describe('slice time measured by DCGM, each once'),
    allocatedGpuHours: z.number().describe('slice time a Slurm allocation reported, each once'),
  }),
  conflicts: z.object({
    count: z.number().int().describe('reports that overlapped covered time of their kind at another rate (the first counted wins)'),
    gpuHours: z.number(),
    latest: z.array(z.object({
      eventId: z.string().nullable(), source: z.string().nullable(), jobKey: z.string(), node: z.string().nullable(),
      start: z.string(), end: z.string(), kind: z.enum(['measured', 'allocated']),
      overlapGpuSeconds: z.number(), rateDifference: z.number().nullable().describe('reported / counted − 1'),
    })),
  }),
})).meta({ id: 'AccountingEvidence' });

/**
 * Per tenant of a case: how much of its GPU time is measured against allocated, and its conflicting
 * reports (two sources disagreeing about one node's time: the count kept the first). Tenants without
 * either are left out.
 */
export async function accountingEvidence(store: Store, tenantIds: string[]): Promise<z.infer<typeof accountingEvidenceSchema>> {
  const ids = tenantIds.slice(0, 50);
  const [usages, jobs] = await Promise.all([
    Promise.all(ids.map((t) => store.usage.tenant(t, new Date()))),
    Promise.all(ids.map((t) => store.usage.tenantJobs(t, 10))),
  ]);
  return ids.map((tenantId, i) => {
    const u = usages[i]!;
    return {
      tenantId,
      coverage: { measuredGpuHours: u.coverage.measuredGpuMicroseconds / 3.6e9, allocatedGpuHours: u.coverage.allocatedGpuMicroseconds / 3.6e9 },
      conflicts: {
        count: u.conflicts.count,
        gpuHours: u.conflicts.gpuMicroseconds / 3.6e9,
        latest: jobs[i]!.conflicts.map((c) => ({
          eventId: c.eventId, source: c.source, jobKey: c.jobKey, node: c.node,
          start: new Date(c.startMs).toISOString(), end: new Date(c.endMs).toISOString(), kind: c.measured ? 'measured' as const : 'allocated' as const,
          overlapGpuSeconds: c.overlapGpuSeconds, rateDifference: c.rateDifference,
        })),
      },
    };
  }).filter((e) => e.conflicts.count > 0 || e.coverage.measuredGpuHours > 0 || e.coverage.allocatedGpuHours > 0);
}

/** The tenants a case is about: a group's members, else the case's tenants. */
export async function caseTenants(store: Store, c: Case): Promise<string[]> {
  if (c.scope === 'group') {
    const members = await store.registry.groupMembers(c.subject);
    if (members.length > 0) return members;
  }
  if (c.scope === 'tenant') return [c.subject];
  return c.tenants;
}

/** Linked tenants, what links each pair and why, and the identifiers too widely shared to link. */
export async function linkGraph(store: Store, tenantIds: string[]): Promise<z.infer<typeof linkGraphSchema>> {
  const records = await store.registry.getTenants<Tenant>(tenantIds.slice(0, 200));
  const ids = [...records.keys()];
  const evidence = await store.registry.linkEvidence(ids);
  const edges = evidence.edges.map((e) => ({ a: e.a, b: e.b, identifiers: e.reasons.map((r) => r.identifier).sort(), reasons: e.reasons }));
  const nodes = ids.map((id) => {
    const t = records.get(id);
    return { tenantId: id, legalName: t?.legalName ?? null, hqCountry: t?.hqCountry ?? null, kycStatus: t?.kycStatus ?? 'unknown' };
  });
  return { nodes, edges, widelyShared: evidence.widelyShared };
}

/** A lineage and its ancestors, nearest first, with the tenants of each and how each link was found. */
export async function ancestry(store: Store, lineageId: string): Promise<z.infer<typeof ancestrySchema>> {
  const lineage = await store.books.lineage(lineageId);
  const chain = [lineage, ...lineage.ancestors].map((l) => ({ id: l.id, tenants: Object.keys(l.own) }));
  const links = await Promise.all(chain.map((l) => store.lineageLinks.links(l.id)));
  return chain.map((l, i) => {
    const parentId = chain[i + 1]?.id;
    const evidence = parentId ? links[i]!.get(parentId) : undefined;
    return {
      lineageId: l.id,
      tenants: l.tenants,
      link: parentId
        ? { parentId, kind: evidence?.kind ?? 'declared', checkpoint: evidence?.checkpoint ?? null, tenantId: evidence?.tenantId ?? l.tenants[0] ?? '', parentTenantId: evidence?.parentTenantId ?? null }
        : null,
    };
  });
}

/** The rule's levels as operations, from the rule table (single-step rules: the threshold itself, at the case's severity). */
function levels(c: Case, pack: PolicyPack) {
  const list = RULES[c.rule].kind === 'threshold' ? RULES[c.rule].levels(pack).map((l) => ({ fraction: l.level, severity: l.severity })) : [{ fraction: 1, severity: c.severity }];
  return list.map((l) => ({ fraction: l.fraction, severity: l.severity, operations: l.fraction * c.threshold }));
}

/**
 * Cumulative operations by day of the case's tenants (summed day buckets; the all-time total minus
 * later days, so days pruned from the buckets still count), with the levels and the alerts.
 */
export async function series(store: Store, c: Case, pack: PolicyPack, tenants: string[]): Promise<z.infer<typeof seriesSchema>> {
  const daily = await Promise.all(tenants.slice(0, 200).map((t) => store.usage.dailyTeraOps(t)));
  const byDay = new Map<number, number>();
  let total = 0;
  for (const d of daily) {
    total += d.teraOps;
    for (const [day, tera] of d.days) byDay.set(day, (byDay.get(day) ?? 0) + tera);
  }
  const days = [...byDay.keys()].sort((a, b) => a - b);
  let after = days.reduce((s, d) => s + byDay.get(d)!, 0);
  const points = days.map((day) => {
    after -= byDay.get(day)!;
    return { day: new Date(day * DAY_MS).toISOString().slice(0, 10), operations: teraToOps(total - after) };
  });
  const basis = c.scope === 'group' ? 'the group\'s member tenants' : c.scope === 'tenant' ? 'the tenant' : 'the tenants that contributed to the lineage';
  return {
    basis, tenants, points, levels: levels(c, pack),
    alerts: c.alerts.map((a) => ({ raisedAt: a.raisedAt, level: a.level, observedOperations: a.observedOperations })),
    observedOperations: c.observedOperations,
    projectedCrossingAt: c.projectedCrossingAt,
  };
}
