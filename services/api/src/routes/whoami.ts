import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ANY_ROLE, ROLES, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { errors } from '../schemas.js';

/** GET /v1/whoami: the name and role of the key presented (the console signs in with it). */
export const whoamiRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app) => {
  app.get('/whoami', {
    onRequest: requireRole(...ANY_ROLE),
    schema: { tags: ['session'], summary: 'The name and role of the API key presented', response: { 200: z.object({ name: z.string(), role: z.enum(ROLES) }), ...errors() } },
  }, async (request) => ({ name: request.principal!.name, role: request.principal!.role }));
};
