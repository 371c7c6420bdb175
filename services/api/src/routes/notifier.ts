import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { READERS, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { errors, limitSchema } from '../schemas.js';

const letterSchema = z.object({
  channel: z.string().describe('kafka or alertmanager'),
  reason: z.string().describe('kafka_rejected, record_too_large, alertmanager_rejected'),
  at: z.string(),
  alertId: z.string().nullable(),
  type: z.string().nullable().describe('the outbox event: alert.raised or alert.updated'),
  caseId: z.string().nullable(),
  entryId: z.string().nullable(),
  error: z.string(),
}).meta({ id: 'ChannelDeadLetter' });

/** The notifier's Kafka and Alertmanager dead letters, and their redelivery once the cause is fixed (webhooks have their own routes). */
export const notifierRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const channels = deps.store.notifyChannels;
  const now = deps.now ?? (() => new Date());

  app.get('/notifier/dead-letters', {
    onRequest: requireRole(...READERS),
    schema: {
      tags: ['alerts'], summary: 'Alerts the Kafka or Alertmanager channel gave up on (a permanent refusal), newest first',
      querystring: z.object({ limit: limitSchema }).strict(),
      response: { 200: z.object({ deadLetters: z.array(letterSchema) }), ...errors() },
    },
  }, async (request) => ({
    deadLetters: (await channels.listDeadLetters(request.query.limit)).map((l) => ({ ...l, type: l.type ?? null })),
  }));

  app.post('/notifier/dead-letters/redeliver', {
    onRequest: requireRole('admin'),
    schema: {
      tags: ['alerts'],
      summary: 'Hand the Kafka and/or Alertmanager dead letters back to their channel, each once (a Kafka letter is published again, an Alertmanager case sent now)',
      querystring: z.object({ channel: z.enum(['kafka', 'alertmanager']).optional() }).strict(),
      response: { 202: z.object({ kafka: z.number(), alertmanager: z.number() }), ...errors() },
    },
  }, async (request, reply) => {
    const { channel } = request.query;
    const done = await deps.store.audit.record({ actor: request.principal!.name, action: 'notifier.redeliver_dead_letters', object: `notifier:${channel ?? 'all'}`, before: null, after: null, requestId: request.id },
      () => channels.redeliverDeadLetters(channel, now().getTime()),
      (r) => (r.kafka + r.alertmanager > 0 ? { after: { ...r } } : null));
    return reply.code(202).send(done);
  });
};
