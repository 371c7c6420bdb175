import { KafkaPortError, recordsTooLarge, type TooLargeRecord } from '@flopwatch/kafka';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { describeZodError, usageEventSchema, type UsageEvent } from '@flopwatch/contracts';
import { validateUsage } from '@flopwatch/policy';
import { assertInScope, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { ApiError } from '../errors.js';
import { errors } from '../schemas.js';

/** Events in one request; larger batches are split by the sender. */
export const MAX_BATCH = 1000;

const resultSchema = z.object({
  index: z.number().int(),
  id: z.string().nullable(),
  tenantId: z.string().nullable(),
  status: z.enum(['accepted', 'rejected']),
  reason: z.string().optional(),
  message: z.string().optional(),
});
type EventResult = z.infer<typeof resultSchema>;

// Each event is validated on its own (below), so one bad event is named rather than failing the union.
const bodySchema = z
  .union([z.record(z.string(), z.unknown()), z.array(z.unknown()).min(1).max(MAX_BATCH)])
  .describe(`One usage CloudEvent (see the usage-event contract), or a batch of up to ${MAX_BATCH} as a JSON array (application/cloudevents-batch+json).`);

function check(input: unknown, index: number, deps: RouteOptions['deps']): { result: EventResult; event?: UsageEvent } {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as { id?: unknown; data?: { tenantId?: unknown } };
  const base = { index, id: typeof raw.id === 'string' ? raw.id : null, tenantId: typeof raw.data?.tenantId === 'string' ? raw.data.tenantId : null };
  const parsed = usageEventSchema.safeParse(input);
  if (!parsed.success) return { result: { ...base, status: 'rejected', reason: 'schema_violation', message: describeZodError(parsed.error) } };
  const verdict = validateUsage(parsed.data, deps.pack, (deps.now ?? (() => new Date()))());
  if (!verdict.ok) return { result: { ...base, status: 'rejected', reason: verdict.reason, message: verdict.message } };
  return { result: { ...base, status: 'accepted' }, event: parsed.data };
}

/**
 * 413 naming each event no Kafka request can carry (its record exceeds the topic's
 * max.message.bytes); `sent` events of the batch were written anyway (0 unless the topic's limit was
 * lowered during the request).
 */
function tooLargeError(records: TooLargeRecord[], limit: number, checked: { result: EventResult }[], sent: number, options: { cause?: unknown } = {}): ApiError {
  const events = records.map((r) => ({ index: r.index, id: checked[r.index]!.result.id, tenantId: checked[r.index]!.result.tenantId, bytes: r.bytes }));
  const first = events[0]!;
  const what = sent === 0 ? 'none of the events was sent' : `the other ${sent} events were sent`;
  return new ApiError(413, 'EVENT_TOO_LARGE', `${events.length} event${events.length > 1 ? 's are' : ' is'} larger than the telemetry topic accepts (${limit} bytes per record batch), ${what}; first: event[${first.index}] of ${first.bytes} bytes. Make the event smaller (fewer labels); sending it again cannot succeed`, { limit, sent, events }, options);
}

/** POST /v1/telemetry: validates usage events and produces them to the ingest's topic. */
export const telemetryRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post('/telemetry', {
    onRequest: requireRole('ingest'),
    schema: {
      tags: ['telemetry'],
      summary: 'Send usage events (one CloudEvent or a batch); all or nothing',
      description: 'Content types: application/cloudevents+json, application/cloudevents-batch+json, application/json. Every event is validated (schema and policy: known accelerator and country, interval within limits) before any is sent; a batch with an invalid event is rejected whole (400, each invalid event named) and nothing of it reaches Kafka. An `ingest` key reports only for the clusters and CloudEvents sources its API_KEYS entry names: a batch with any event outside them is refused whole (403, each such event named with its cluster and source). A batch is sent in as many Kafka requests as the telemetry topic\'s max.message.bytes needs; a batch with an event whose record alone exceeds that limit is refused whole (413 EVENT_TOO_LARGE, each such event named, nothing sent): sending it again cannot succeed.',
      body: bodySchema,
      response: { 202: z.object({ accepted: z.number().int(), results: z.array(resultSchema) }), ...errors(413, 415, 503), 400: z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.object({ results: z.array(resultSchema) }).or(z.record(z.string(), z.unknown())).nullable() }) }) },
    },
  }, async (request, reply) => {
    const batch = Array.isArray(request.body) ? request.body : [request.body];
    // An ingest key reports only for its clusters/sources (API_KEYS): 403 naming the events, none sent.
    assertInScope(request.principal!, batch);
    const checked = batch.map((input, i) => check(input, i, deps));
    const rejected = checked.filter((c) => c.result.status === 'rejected');
    if (rejected.length > 0) {
      const first = rejected[0]!.result;
      throw new ApiError(400, 'INVALID_EVENTS', `${rejected.length} of ${batch.length} events are invalid, none was sent; first: event[${first.index}] ${first.message}`, { results: checked.map((c) => c.result) });
    }
    const messages = checked.map((c, i) => ({
      key: c.event!.data.tenantId,
      value: JSON.stringify(batch[i]),
      headers: { 'content-type': 'application/cloudevents+json', 'x-request-id': request.id },
    }));
    // The producer splits the batch into requests within the topic's max.message.bytes. An event too
    // large for any request is refused (413) before anything is sent: a resend cannot succeed.
    let oversized: TooLargeRecord[] = [];
    let limit = 0;
    try {
      ({ records: oversized, limit } = await deps.producer.tooLarge(deps.telemetryTopic, messages));
      if (oversized.length === 0) await deps.producer.send(deps.telemetryTopic, messages);
    } catch (err) {
      const late = recordsTooLarge(err); // the topic's limit was lowered between the check and the send
      if (late) throw tooLargeError(late.records, late.limit, checked, messages.length - late.records.length, { cause: err });
      if (err instanceof KafkaPortError && err.code === 'KAFKA_TOPIC_NOT_FOUND') {
        throw new ApiError(503, 'UNAVAILABLE', `the telemetry topic ${deps.telemetryTopic} does not exist; none of the events was sent`, undefined, { cause: err });
      }
      throw new ApiError(503, 'UNAVAILABLE', 'Kafka did not take the events; none may be counted yet, send the same batch again (event ids make a resend safe)', undefined, { cause: err });
    }
    if (oversized.length > 0) throw tooLargeError(oversized, limit, checked, 0);
    request.log.info({ count: messages.length, topic: deps.telemetryTopic }, 'telemetry produced');
    return reply.code(202).send({ accepted: messages.length, results: checked.map((c) => c.result) });
  });
};
