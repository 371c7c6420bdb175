import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { countryCodeSchema, describeZodError, idSchema, kycStatusSchema, tenantSchema, type Tenant } from '@flopwatch/contracts';
import { isCountryCode } from '@flopwatch/catalog';
import { tenantRisk } from '@flopwatch/policy';
import { ChangeUnconfirmedError, type GroupChange } from '@flopwatch/store';
import { READERS, requireRole, type Principal } from '../auth.js';
import type { ApiDeps, RouteOptions } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { applyScreening } from '../screening.js';
import { errors, idParams, limitSchema } from '../schemas.js';

/** Tenant ids a filtered listing reads at most per page; a sparse filter continues through nextCursor. */
const MAX_SCAN = 5_000;

export const riskSchema = z.object({
  tier: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  trusted: z.boolean(),
  kycStatus: kycStatusSchema,
  hqCountry: z.string().nullable(),
  ownerCountries: z.array(z.string()),
  reasons: z.array(z.string()),
});

/**
 * Every country of a KYC record must be an assigned ISO 3166-1 code, as telemetry's must: an
 * unassigned one (`ZZ`, `QQ`) would otherwise land in no tier list and be treated as Tier 2.
 */
function assignedCountries(tenant: { hqCountry: string; ultimateParent: { country: string } | null; beneficialOwners: { country: string }[] }, ctx: z.RefinementCtx): void {
  const check = (code: string, path: (string | number)[]) => {
    if (!isCountryCode(code)) ctx.addIssue({ code: 'custom', path, message: `"${code}" is not an assigned ISO 3166-1 alpha-2 country code`, input: code });
  };
  check(tenant.hqCountry, ['hqCountry']);
  if (tenant.ultimateParent) check(tenant.ultimateParent.country, ['ultimateParent', 'country']);
  tenant.beneficialOwners.forEach((o, i) => check(o.country, ['beneficialOwners', i, 'country']));
}

const tenantInputBase = tenantSchema.omit({ updatedAt: true, screening: true }).extend({ id: idSchema.optional() }).strict();
/** What PUT takes: the tenant record; `id` may be left out (the path names it), `updatedAt` is set by the API. */
export const tenantInputSchema = tenantInputBase.superRefine(assignedCountries);
/** One line of an import: the same record with its `id`. */
const importLineSchema = tenantInputBase.required({ id: true }).superRefine(assignedCountries);

const groupChangeSchema = z.object({ groupId: z.string(), members: z.array(z.string()) });
const tenantViewSchema = z.object({ tenant: tenantSchema, risk: riskSchema, group: z.object({ id: z.string(), members: z.array(z.string()) }).nullable() });

/**
 * Stores a tenant with its audit entry (audit.record: both, or a recorded intent); shared by PUT and
 * import. The record is screened against the list in force first (screening.ts), so a write never
 * clears a match the list holds.
 */
async function saveTenant(deps: ApiDeps, input: z.infer<typeof tenantInputSchema>, id: string, actor: Principal, requestId: string, action: string) {
  const now = (deps.now ?? (() => new Date()))();
  const written: Tenant = { ...input, id, updatedAt: now.toISOString() };
  const list = deps.screeningList?.();
  const tenant = (list && applyScreening(written, list, now)) || written;
  // The change and its audit entry, or a recorded intent that verify names until it is confirmed.
  const { before, groups } = await deps.store.audit.record(
    { actor: actor.name, action, object: `tenant:${id}`, before: null, after: tenant, requestId, at: now },
    () => deps.store.registry.putTenant(tenant),
    (saved) => ({ before: saved.before }),
  );
  return { tenant, created: before === null, groups };
}

/** Writes what screening changed on a tenant (its match, or its clearing), audited as the `screening` actor. */
export async function saveScreenedTenant(deps: ApiDeps, screened: Tenant): Promise<void> {
  const now = (deps.now ?? (() => new Date()))();
  const tenant: Tenant = { ...screened, updatedAt: now.toISOString() };
  const matches = tenant.screening?.matches ?? [];
  await deps.store.audit.record(
    {
      actor: 'screening',
      action: 'tenant.screen',
      object: `tenant:${tenant.id}`,
      before: null,
      after: tenant,
      requestId: `screening-${tenant.screening?.list.sha256.slice(0, 12) ?? 'none'}`,
      at: now,
      note: matches.length > 0 ? `matched ${matches.map((m) => `${m.entry.source}: ${m.listed}`).join('; ')}` : 'no longer on the screening list',
    },
    () => deps.store.registry.putTenant(tenant),
    (saved) => ({ before: saved.before }),
  );
}

const ndjsonTypes = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'];

/** The KYC registry: GET/PUT /v1/tenants/:id, GET /v1/tenants, POST /v1/tenants/import. */
export const tenantRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.addContentTypeParser(ndjsonTypes, { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.get('/tenants', {
    onRequest: requireRole(...READERS),
    schema: {
      tags: ['tenants'],
      summary: 'List registered tenants (by id), filtered',
      querystring: z.object({
        kycStatus: kycStatusSchema.optional(),
        tier: z.coerce.number().int().min(1).max(3).optional().describe('effective tier (worst of HQ, parent, owners)'),
        country: countryCodeSchema.optional().describe('HQ country'),
        cursor: idSchema.optional().describe('nextCursor of the previous page'),
        limit: limitSchema,
      }).strict(),
      response: { 200: z.object({ tenants: z.array(tenantSchema.extend({ risk: riskSchema })), nextCursor: z.string().nullable() }), ...errors() },
    },
  }, async (request) => {
    const q = request.query;
    const out: (Tenant & { risk: z.infer<typeof riskSchema> })[] = [];
    let after = q.cursor ?? null;
    let scanned = 0;
    while (scanned < MAX_SCAN) {
      const ids = await deps.store.registry.listTenantIds(after, Math.min(200, MAX_SCAN - scanned));
      const records = await deps.store.registry.getTenants<Tenant>(ids);
      for (const id of ids) {
        scanned++;
        after = id;
        const t = records.get(id);
        if (!t) continue;
        const risk = tenantRisk(t, deps.pack);
        if ((q.kycStatus && t.kycStatus !== q.kycStatus) || (q.tier && risk.tier !== q.tier) || (q.country && t.hqCountry !== q.country)) continue;
        out.push({ ...t, risk });
        if (out.length === q.limit) return { tenants: out, nextCursor: id };
      }
      if (ids.length < 200) return { tenants: out, nextCursor: null };
    }
    return { tenants: out, nextCursor: after };
  });

  app.get('/tenants/:id', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['tenants'], summary: 'A tenant, its risk and its group', params: idParams, response: { 200: tenantViewSchema, ...errors(404) } },
  }, async (request) => {
    const { id } = request.params;
    const tenant = await deps.store.registry.getTenant<Tenant>(id);
    if (!tenant) throw notFound('tenant', id);
    const groupId = await deps.store.registry.groupOf(id);
    return { tenant, risk: tenantRisk(tenant, deps.pack), group: groupId ? { id: groupId, members: await deps.store.registry.groupMembers(groupId) } : null };
  });

  app.put('/tenants/:id', {
    onRequest: requireRole(),
    schema: {
      tags: ['tenants'],
      summary: 'Create or replace a tenant (audited; the ingest uses it from its next batch)',
      params: idParams,
      body: tenantInputSchema,
      response: { 200: z.object({ tenant: tenantSchema, created: z.boolean(), groupChanges: z.array(groupChangeSchema) }), ...errors() },
    },
  }, async (request) => {
    const { id } = request.params;
    if (request.body.id !== undefined && request.body.id !== id) {
      throw new ApiError(400, 'VALIDATION_FAILED', `body.id: ${JSON.stringify(request.body.id)} differs from the path's ${JSON.stringify(id)}`, { fields: ['body.id'] });
    }
    const saved = await saveTenant(deps, request.body, id, request.principal!, request.id, 'tenant.put');
    return { tenant: saved.tenant, created: saved.created, groupChanges: saved.groups };
  });

  app.post('/tenants/import', {
    onRequest: requireRole(),
    schema: {
      tags: ['tenants'],
      summary: 'Import tenants from NDJSON (one tenant record per line); valid lines are saved, rejects reported by line',
      consumes: ndjsonTypes,
      body: z.string().describe('NDJSON: one tenant record (with id) per line'),
      response: {
        200: z.object({ imported: z.number().int(), created: z.number().int(), rejected: z.array(z.object({ line: z.number().int(), id: z.string().nullable(), error: z.string() })),
          unconfirmed: z.array(z.object({ line: z.number().int(), id: z.string(), intent: z.string(), error: z.string() })).describe('lines whose write failed half-way: they may have been written; GET /v1/audit/verify names each intent until it is confirmed'),
          groupChanges: z.array(groupChangeSchema) }),
        ...errors(413, 415),
      },
    },
  }, async (request) => {
    const lines = request.body.split('\n');
    const rejected: { line: number; id: string | null; error: string }[] = [];
    const groupChanges: GroupChange[] = [];
    const unconfirmed: { line: number; id: string; intent: string; error: string }[] = [];
    let imported = 0;
    let created = 0;
    for (const [i, text] of lines.entries()) {
      if (text.trim() === '') continue;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        rejected.push({ line: i + 1, id: null, error: 'not valid JSON' });
        continue;
      }
      const parsed = importLineSchema.safeParse(json);
      const maybeId = (json as { id?: unknown } | null)?.id;
      if (!parsed.success) {
        rejected.push({ line: i + 1, id: typeof maybeId === 'string' ? maybeId : null, error: describeZodError(parsed.error) });
        continue;
      }
      let saved;
      try {
        saved = await saveTenant(deps, parsed.data, parsed.data.id, request.principal!, request.id, 'tenant.import');
      } catch (err) {
        // Neither imported nor rejected: it may have been written; its intent is named by verify.
        if (!(err instanceof ChangeUnconfirmedError)) throw err;
        unconfirmed.push({ line: i + 1, id: parsed.data.id, intent: err.intentId, error: err.message });
        continue;
      }
      imported++;
      if (saved.created) created++;
      groupChanges.push(...saved.groups);
    }
    request.log.info({ imported, rejected: rejected.length, unconfirmed: unconfirmed.length }, 'tenants imported');
    return { imported, created, rejected, unconfirmed, groupChanges };
  });
};
