import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idSchema } from '@flopwatch/contracts';
import { BehaviourLinkNotFoundError } from '@flopwatch/store';
import { READERS, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { notFound } from '../errors.js';
import { errors } from '../schemas.js';

// Behavioural links (docs/detection.md): the suspected links the ingest's analysis found
// between tenants (co-scheduled jobs, checkpoint hand-offs), with their evidence; an analyst confirms
// or dismisses each (audited). A dismissed link stays dismissed whatever later analyses find.

const jobSchema = z.object({ jobId: z.string(), startMin: z.number().int(), endMin: z.number().int() });

export const behaviourLinkSchema = z.object({
  id: z.string().describe('`<tenant>~<tenant>`, the two ids in order'),
  tenants: z.tuple([z.string(), z.string()]),
  status: z.enum(['suspected', 'confirmed', 'dismissed']),
  evidence: z.object({
    reasons: z.array(z.enum(['co-scheduled', 'checkpoint-handoff'])),
    matched: z.number().int().describe('job pairs that started and ended within the window with the same shape on one cluster'),
    matches: z.array(z.object({ cluster: z.string(), shape: z.string(), a: jobSchema, b: jobSchema })).describe('the matched pairs (at most 50), minutes since the epoch'),
    expected: z.number().describe('matches expected by chance from the clusters\' traffic'),
    pValue: z.number().describe('P(at least `matched` by chance), Poisson'),
    adjustedPValue: z.number().describe('pValue × pairsTested (Bonferroni), at most 1'),
    pairsTested: z.number().int(),
    handoffs: z.array(z.object({ checkpoint: z.string(), lineageId: z.string(), tenantId: z.string(), parentLineageId: z.string(), parentTenantId: z.string() })),
    firstSeenAt: z.string(),
    lastSeenAt: z.string(),
  }),
  decision: z.object({ status: z.enum(['confirmed', 'dismissed']), by: z.string(), at: z.string(), note: z.string().optional() }).nullable(),
});

const linkParams = z.object({ id: z.string().min(3).max(520).regex(/^[^~]+~[^~]+$/, 'must be a link id: <tenant>~<tenant>') });
const decisionBody = z.object({ note: z.string().max(10_000).optional() }).strict();

/** GET /v1/behaviour-links, POST /v1/behaviour-links/:id/confirm | dismiss. */
export const behaviourLinkRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const links = deps.store.behaviourLinks;

  app.get('/behaviour-links', {
    onRequest: requireRole(...READERS),
    schema: {
      tags: ['behaviour'],
      summary: 'Behavioural links between tenants (co-scheduled jobs, checkpoint hand-offs) with their evidence and decisions',
      querystring: z.object({ tenant: idSchema.optional(), status: z.enum(['suspected', 'confirmed', 'dismissed']).optional() }).strict(),
      response: { 200: z.object({ links: z.array(behaviourLinkSchema), groups: z.array(z.object({ id: z.string(), members: z.array(z.string()), links: z.array(z.string()) })) }) },
    },
  }, async (request) => {
    const { tenant, status } = request.query;
    const all = tenant ? await links.ofTenant(tenant) : await links.list();
    const groups = (await links.groups()).filter((g) => !tenant || g.members.includes(tenant));
    return { links: all.filter((l) => !status || l.status === status), groups };
  });

  for (const action of ['confirm', 'dismiss'] as const) {
    app.post(`/behaviour-links/:id/${action}`, {
      onRequest: requireRole('analyst'),
      schema: {
        tags: ['behaviour'],
        summary: action === 'confirm' ? 'Confirm a behavioural link (audited): its group is evaluated at the rules\' own severity' : 'Dismiss a behavioural link (audited): it stays dismissed through later analyses',
        params: linkParams,
        body: decisionBody,
        response: { 200: behaviourLinkSchema, ...errors(404) },
      },
    }, async (request) => {
      try {
        const note = request.body.note?.trim();
        return await links.decide(request.params.id, action === 'confirm' ? 'confirmed' : 'dismissed', request.principal!.name, { ...(note ? { note } : {}), requestId: request.id });
      } catch (err) {
        if (err instanceof BehaviourLinkNotFoundError) throw notFound('behaviour link', request.params.id);
        throw err;
      }
    });
  }
};
