import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { errors, instantSchema, limitSchema } from '../schemas.js';

const entrySchema = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  object: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  note: z.string().optional(),
  requestId: z.string().optional(),
});

/** GET /v1/audit: the append-only log of changes, newest first. */
export const auditRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get('/audit', {
    onRequest: requireRole('analyst'),
    schema: {
      tags: ['audit'],
      summary: 'Audit log entries, newest first, filtered by actor, object and time',
      querystring: z.object({
        actor: z.string().min(1).max(256).optional(),
        object: z.string().min(1).max(300).optional().describe('<kind>:<id>, e.g. tenant:acme, alert:al_…'),
        since: instantSchema.optional(),
        until: instantSchema.optional(),
        cursor: z.string().regex(/^\d+-\d+$/, 'must be the nextCursor of a previous page').optional(),
        limit: limitSchema,
      }).strict(),
      response: { 200: z.object({ entries: z.array(entrySchema), nextCursor: z.string().nullable() }), ...errors() },
    },
  }, async (request) => {
    const { cursor, ...q } = request.query;
    return deps.store.audit.list({ ...q, ...(cursor ? { cursor } : {}) });
  });
};
