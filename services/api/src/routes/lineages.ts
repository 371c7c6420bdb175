import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idSchema, lineageSchema, type Lineage } from '@flopwatch/contracts';
import { lineageCumulative, standings } from '@flopwatch/policy';
import { READERS, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { errors, idParams, operationsSchema } from '../schemas.js';
import { standingSchema } from './usage.js';

const lineageInputSchema = lineageSchema.extend({ id: idSchema.optional() }).strict();

const lineageViewSchema = z.object({
  id: z.string(),
  lineage: lineageSchema.nullable().describe('the registered record; null for a lineage only seen in telemetry'),
  ownOperations: operationsSchema,
  cumulativeOperations: operationsSchema.describe('own + every ancestor\'s + a closed-weight base model\'s pretraining'),
  ancestors: z.array(lineageSchema).describe('every ancestor once, through declared parents and checkpoint links, nearest first'),
  contributingTenants: z.array(z.object({ tenantId: z.string(), operations: operationsSchema, ownOperations: operationsSchema })),
  standing: z.array(standingSchema).describe('where the lineage stands against every lineage rule, as the rules measure it'),
});

/** GET/PUT /v1/lineages/:id. */
export const lineageRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry, snapshots, audit } = deps.store;
  const now = deps.now ?? (() => new Date());

  app.get('/lineages/:id', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['lineages'], summary: 'A lineage with its own and cumulative operations, ancestors and contributing tenants', params: idParams, response: { 200: lineageViewSchema, ...errors(404) } },
  }, async (request) => {
    const { id } = request.params;
    const [lineage, snap] = await Promise.all([registry.getLineage<Lineage>(id), snapshots.reader({ now: () => now().getTime() }).forLineage(id)]);
    const l = snap.lineage;
    if (!lineage && Object.keys(l.own).length === 0) throw notFound('lineage', id);
    // Every ancestor of the graph (declared parents and checkpoint links), as the rules count them.
    const ancestors = (await Promise.all(l.ancestors.map((a) => registry.getLineage<Lineage>(a.id)))).filter((x): x is Lineage => x !== null);
    const cumulative = lineageCumulative(l);
    const ownOperations = Object.values(l.own).reduce((a, split) => a + split.all, 0);
    const contributingTenants = Object.entries(cumulative.byTenant)
      .map(([tenantId, operations]) => ({ tenantId, operations, ownOperations: l.own[tenantId]?.all ?? 0 }))
      .sort((a, b) => b.operations - a.operations || a.tenantId.localeCompare(b.tenantId));
    return { id, lineage, ownOperations, cumulativeOperations: cumulative.of('all'), ancestors, contributingTenants, standing: standings(snap, deps.pack) };
  });
  app.put('/lineages/:id', {
    onRequest: requireRole(),
    schema: {
      tags: ['lineages'],
      summary: 'Create or replace a lineage record (parent, base model, published weights); audited',
      params: idParams,
      body: lineageInputSchema,
      response: { 200: z.object({ lineage: lineageSchema, created: z.boolean() }), ...errors(409) },
    },
  }, async (request) => {
    const { id } = request.params;
    if (request.body.id !== undefined && request.body.id !== id) {
      throw new ApiError(400, 'VALIDATION_FAILED', `body.id: ${JSON.stringify(request.body.id)} differs from the path's ${JSON.stringify(id)}`, { fields: ['body.id'] });
    }
    const lineage: Lineage = { ...request.body, id };
    if (lineage.parentId !== null) {
      // A cycle would make cumulative operations meaningless (and the ancestry walk stop early).
      const chain = [lineage.parentId, ...(await registry.ancestors<Lineage>(lineage.parentId)).map((a) => a.id)];
      if (chain.includes(id)) throw new ApiError(409, 'CONFLICT', `body.parentId: ${lineage.parentId} descends from ${id}; a lineage cannot be its own ancestor`, { fields: ['body.parentId'] });
    }
    const before = await audit.record(
      { actor: request.principal!.name, action: 'lineage.put', object: `lineage:${id}`, before: null, after: lineage, requestId: request.id },
      () => registry.putLineage(lineage),
      (b) => ({ before: b }),
    );
    return { lineage, created: before === null };
  });
};
