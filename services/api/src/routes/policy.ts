import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { policyPackSchema } from '@flopwatch/policy';
import { READERS, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { errors } from '../schemas.js';

/** GET /v1/policy: the pack in force. */
export const policyRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get('/policy', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['policy'], summary: 'The policy pack in force and its version', response: { 200: z.object({ version: z.string(), pack: policyPackSchema }), ...errors() } },
  }, async () => ({ version: deps.pack.version, pack: deps.pack }));
};
