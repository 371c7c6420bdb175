import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cachedProbe } from '@flopwatch/runtime';
import { ANY_ROLE, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';

const CHECK_TIMEOUT_MS = 2_000;

async function probe(check: () => Promise<void>): Promise<'ok' | 'unreachable'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'ok';
  } catch {
    return 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}

const readySchema = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.object({ redis: z.enum(['ok', 'unreachable']), kafka: z.enum(['ok', 'unreachable']) }) });

/** GET /healthz, /readyz, /metrics: no key needed (/metrics behind a key when METRICS_PUBLIC=false). */
export const healthRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const open = { rateLimit: false } as const;
  // One Redis ping and one Kafka call per second at most, however often /readyz is asked.
  const readiness = cachedProbe(async () => {
    const [redis, kafka] = await Promise.all([probe(deps.checks.redis), probe(deps.checks.kafka)]);
    return { redis, kafka };
  }, deps.readyCacheMs ?? 1_000);
  app.get('/healthz', { config: open, schema: { tags: ['ops'], security: [], summary: 'The process is up', response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    config: open,
    schema: { tags: ['ops'], security: [], summary: 'Redis and Kafka are reachable', response: { 200: readySchema, 503: readySchema } },
  }, async (_request, reply) => {
    const { redis, kafka } = await readiness();
    const ready = redis === 'ok' && kafka === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: { redis, kafka } });
  });

  app.get('/metrics', {
    config: open,
    ...(deps.metricsPublic === false ? { onRequest: requireRole(...ANY_ROLE) } : {}),
    schema: { tags: ['ops'], ...(deps.metricsPublic === false ? {} : { security: [] }), summary: 'Prometheus metrics', produces: ['text/plain'] },
  }, async (_request, reply) => {
    const body = await deps.metricsRegistry.metrics();
    return reply.type(deps.metricsRegistry.contentType).send(body);
  });
};
