import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ANY_ROLE, ROLES, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { errors } from '../schemas.js';

const reportsForSchema = z
  .object({ clusters: z.array(z.string()), sources: z.array(z.string()) })
  .describe('ingest keys: the clusters and source prefixes POST /v1/telemetry accepts from this key (["*"]: any; both empty: an unbound key, refused)');

/** GET /v1/whoami: the name and role of the key presented (the console signs in with it); an ingest key's bounds. */
export const whoamiRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app) => {
  app.get('/whoami', {
    onRequest: requireRole(...ANY_ROLE),
    schema: { tags: ['session'], summary: 'The name and role of the API key presented', response: { 200: z.object({ name: z.string(), role: z.enum(ROLES), reportsFor: reportsForSchema.optional() }), ...errors() } },
  }, async (request) => {
    const { name, role, scope } = request.principal!;
    if (role !== 'ingest') return { name, role };
    const list = (side: ReadonlySet<string> | readonly string[] | 'any' | undefined) => (side === undefined ? [] : side === 'any' ? ['*'] : [...side]);
    return { name, role, reportsFor: { clusters: list(scope?.clusters), sources: list(scope?.sources) } };
  });
};
