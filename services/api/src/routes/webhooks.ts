import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { alertRuleSchema, idSchema, severitySchema } from '@flopwatch/contracts';
import { DEAD_LETTER_REASONS, type Delivery, type WebhookEndpoint } from '@flopwatch/store';
import { assertEndpointUrl, DEFAULT_URL_POLICY, generateSecret, maskEndpointUrl, messageBody, randomMessageId, WebhookError, type Resolver, type UrlPolicy } from '@flopwatch/webhooks';
import { READERS, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { errors, limitSchema } from '../schemas.js';

export interface WebhookRouteOptions extends RouteOptions {
  /** URL policy (https only, no private addresses unless allow-listed); default: the strict policy. */
  webhooks?: { policy: UrlPolicy; rotationGraceMs?: number; resolver?: Resolver };
}

const endpointParams = z.object({ id: z.string().regex(/^we_[0-9a-f]{24}$/, 'must be a webhook endpoint id: we_ followed by 24 hex digits') });
const deliveryParams = z.object({ id: z.string().regex(/^dlv_[0-9a-f]{24}$/, 'must be a delivery id: dlv_ followed by 24 hex digits') });

const filterSchema = z.object({
  minSeverity: severitySchema.nullable().default(null),
  rules: z.array(alertRuleSchema).max(50).default([]),
  tenants: z.array(idSchema).max(1000).default([]),
}).strict();

const endpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  filter: z.object({ minSeverity: z.string().nullable(), rules: z.array(z.string()), tenants: z.array(z.string()) }),
  createdAt: z.string(),
  disabled: z.object({ at: z.string(), reason: z.string() }).nullable(),
}).meta({ id: 'WebhookEndpoint' });

const deliverySchema = z.object({
  id: z.string(),
  endpointId: z.string(),
  messageId: z.string().describe('the webhook-id header: the same on every attempt'),
  eventType: z.string(),
  alertId: z.string(),
  status: z.enum(['pending', 'delivered', 'dead']),
  attempts: z.number(),
  createdAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  lastStatus: z.number().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  deadAt: z.string().nullable(),
  deadReason: z.enum(DEAD_LETTER_REASONS).nullable().describe('why it is a dead letter: retries_exhausted, url_policy (address refused), http_rejected (a 4xx other than 408/425/429), endpoint_disabled'),
}).meta({ id: 'WebhookDelivery' });

/**
 * Endpoint URLs often carry the receiver's token (in the path or the query): only admins read them
 * whole; everyone else, the audit trail and its exports get the masked form (scheme, host, fingerprint).
 */
const masked = (endpoint: WebhookEndpoint): WebhookEndpoint => ({ ...endpoint, url: maskEndpointUrl(endpoint.url) });
const forCaller = (endpoint: WebhookEndpoint, role: string | undefined): WebhookEndpoint => (role === 'admin' ? endpoint : masked(endpoint));

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const toDeliveryView = (d: Delivery) => ({
  id: d.id, endpointId: d.endpointId, messageId: d.messageId, eventType: d.eventType, alertId: d.alertId, status: d.status, attempts: d.attempts,
  createdAt: new Date(d.createdAt).toISOString(), nextAttemptAt: d.status === 'pending' ? iso(d.nextAt) : null,
  lastStatus: d.lastStatus, lastError: d.lastError, deliveredAt: iso(d.deliveredAt), deadAt: iso(d.deadAt), deadReason: d.deadReason,
});

/** Webhook endpoints, test messages, delivery logs, dead letters and redelivery (admins change; readers look). */
export const webhookRoutes: FastifyPluginAsyncZod<WebhookRouteOptions> = async (app, { deps, webhooks }) => {
  const store = deps.store.webhooks;
  const audit = deps.store.audit;
  const policy = webhooks?.policy ?? DEFAULT_URL_POLICY;
  const graceMs = webhooks?.rotationGraceMs ?? 24 * 3_600_000;
  const now = deps.now ?? (() => new Date());

  async function endpointOr404(id: string): Promise<WebhookEndpoint> {
    const endpoint = await store.getEndpoint(id);
    if (!endpoint) throw notFound('webhook', id);
    return endpoint;
  }

  async function checkUrl(url: string): Promise<void> {
    try {
      await assertEndpointUrl(url, policy, webhooks?.resolver);
    } catch (err) {
      if (err instanceof WebhookError) throw new ApiError(400, 'VALIDATION_FAILED', err.message, { field: 'url', reason: err.code }, { cause: err });
      throw err;
    }
  }

  app.get('/webhooks', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['webhooks'], summary: 'Webhook endpoints (secrets are never shown again)', response: { 200: z.object({ webhooks: z.array(endpointSchema) }), ...errors() } },
  }, async (request) => ({ webhooks: (await store.listEndpoints()).map((e) => forCaller(e, request.principal?.role)) }));

  app.post('/webhooks', {
    onRequest: requireRole('admin'),
    schema: {
      tags: ['webhooks'],
      summary: 'Register an endpoint; the response carries its whsec_ signing secret, shown this once',
      description: 'The URL must be https and must not resolve to a loopback, private, link-local or metadata address (unless the deployment allow-lists it).',
      body: z.object({ url: z.string().max(2048), description: z.string().max(500).default(''), filter: filterSchema.default({ minSeverity: null, rules: [], tenants: [] }) }).strict(),
      response: { 201: endpointSchema.extend({ secret: z.string() }), ...errors() },
    },
  }, async (request, reply) => {
    await checkUrl(request.body.url);
    const endpoint: WebhookEndpoint = {
      id: `we_${randomBytes(12).toString('hex')}`, url: request.body.url, description: request.body.description,
      filter: request.body.filter, createdAt: now().toISOString(), disabled: null,
    };
    const secret = generateSecret();
    await audit.record({ actor: request.principal!.name, action: 'webhook.create', object: `webhook:${endpoint.id}`, before: null, after: masked(endpoint), requestId: request.id },
      () => store.createEndpoint(endpoint, secret));
    return reply.code(201).send({ ...endpoint, secret });
  });

  app.get('/webhooks/dead-letters', {
    onRequest: requireRole(...READERS),
    schema: {
      tags: ['webhooks'], summary: 'Messages that failed every attempt, newest first',
      querystring: z.object({ endpointId: endpointParams.shape.id.optional(), limit: limitSchema }).strict(),
      response: { 200: z.object({ deliveries: z.array(deliverySchema) }), ...errors() },
    },
  }, async (request) => {
    const list = await store.listDeadLetters({ limit: request.query.limit, ...(request.query.endpointId ? { endpointId: request.query.endpointId } : {}) });
    return { deliveries: list.map(toDeliveryView) };
  });

  app.get('/webhooks/:id', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['webhooks'], summary: 'One endpoint and since when it has been failing', params: endpointParams, response: { 200: endpointSchema.extend({ failingSince: z.string().nullable() }), ...errors(404) } },
  }, async (request) => {
    const endpoint = await endpointOr404(request.params.id);
    return { ...forCaller(endpoint, request.principal?.role), failingSince: iso(await store.failingSince(endpoint.id)) };
  });

  app.delete('/webhooks/:id', {
    onRequest: requireRole('admin'),
    schema: { tags: ['webhooks'], summary: 'Remove an endpoint (pending messages to it are dropped)', params: endpointParams, response: { 204: z.null(), ...errors(404) } },
  }, async (request, reply) => {
    const endpoint = await endpointOr404(request.params.id);
    await audit.record({ actor: request.principal!.name, action: 'webhook.delete', object: `webhook:${endpoint.id}`, before: masked(endpoint), after: null, requestId: request.id },
      () => store.deleteEndpoint(endpoint.id),
      (deleted) => (deleted ? {} : null));
    return reply.code(204).send(null);
  });

  app.post('/webhooks/:id/test', {
    onRequest: requireRole('admin'),
    schema: {
      tags: ['webhooks'], summary: 'Queue a signed webhook.test message to the endpoint (delivered by the notifier, with retries)',
      params: endpointParams, response: { 202: z.object({ deliveryId: z.string(), messageId: z.string() }), ...errors(404, 409) },
    },
  }, async (request, reply) => {
    const endpoint = await endpointOr404(request.params.id);
    if (endpoint.disabled) throw new ApiError(409, 'CONFLICT', `webhook ${endpoint.id} is disabled: ${endpoint.disabled.reason}`, { webhook: endpoint.id });
    const messageId = randomMessageId();
    const body = messageBody('webhook.test', now().toISOString(), { webhookId: endpoint.id, message: 'flopwatch test message' });
    const { id } = await store.enqueue({ endpointId: endpoint.id, messageId, eventType: 'webhook.test', body });
    return reply.code(202).send({ deliveryId: id, messageId });
  });

  app.get('/webhooks/:id/deliveries', {
    onRequest: requireRole(...READERS),
    schema: {
      tags: ['webhooks'], summary: "The endpoint's recent deliveries, newest first",
      params: endpointParams, querystring: z.object({ limit: limitSchema }).strict(),
      response: { 200: z.object({ deliveries: z.array(deliverySchema) }), ...errors(404) },
    },
  }, async (request) => {
    await endpointOr404(request.params.id);
    return { deliveries: (await store.listDeliveries(request.params.id, request.query.limit)).map(toDeliveryView) };
  });

  app.post('/webhooks/deliveries/:id/redeliver', {
    onRequest: requireRole('admin'),
    schema: {
      tags: ['webhooks'], summary: 'Send a dead-lettered (or delivered) message again, same webhook-id, fresh retry schedule',
      params: deliveryParams, response: { 202: deliverySchema, ...errors(404, 409) },
    },
  }, async (request, reply) => {
    const { id } = request.params;
    const delivery = await store.getDelivery(id);
    if (!delivery) throw notFound('delivery', id);
    const endpoint = await endpointOr404(delivery.endpointId);
    if (endpoint.disabled) throw new ApiError(409, 'CONFLICT', `webhook ${endpoint.id} is disabled: ${endpoint.disabled.reason}; enable it first`, { webhook: endpoint.id });
    const outcome = await audit.record({ actor: request.principal!.name, action: 'webhook.redeliver', object: `delivery:${id}`, before: { status: delivery.status }, after: { status: 'pending' }, requestId: request.id },
      () => store.redeliver(id, now().getTime()),
      (o) => (o === 'scheduled' ? {} : null));
    if (outcome === 'not_found') throw notFound('delivery', id);
    if (outcome === 'pending') throw new ApiError(409, 'CONFLICT', `delivery ${id} is still pending`, { delivery: id });
    return reply.code(202).send(toDeliveryView((await store.getDelivery(id))!));
  });

  app.post('/webhooks/:id/dead-letters/redeliver', {
    onRequest: requireRole('admin'),
    schema: {
      tags: ['webhooks'], summary: "Send every dead letter of the endpoint again (e.g. those kept while it was disabled), same webhook-ids, fresh retry schedule",
      params: endpointParams, response: { 202: z.object({ scheduled: z.array(z.string()) }), ...errors(404, 409) },
    },
  }, async (request, reply) => {
    const endpoint = await endpointOr404(request.params.id);
    if (endpoint.disabled) throw new ApiError(409, 'CONFLICT', `webhook ${endpoint.id} is disabled: ${endpoint.disabled.reason}; enable it first`, { webhook: endpoint.id });
    const scheduled = await audit.record({ actor: request.principal!.name, action: 'webhook.redeliver_dead_letters', object: `webhook:${endpoint.id}`, before: null, after: null, requestId: request.id },
      () => store.redeliverDeadLetters(endpoint.id, now().getTime()),
      (ids) => ({ after: { scheduled: ids.length } }));
    return reply.code(202).send({ scheduled });
  });

  app.post('/webhooks/:id/rotate-secret', {
    onRequest: requireRole('admin'),
    schema: {
      tags: ['webhooks'], summary: 'Issue a new signing secret (shown once); the previous one keeps signing for the grace period',
      params: endpointParams,
      body: z.object({ graceSeconds: z.number().int().min(0).max(7 * 86_400).optional() }).strict().default({}),
      response: { 200: z.object({ secret: z.string(), previousSecretsExpireAt: z.string() }), ...errors(404) },
    },
  }, async (request) => {
    const endpoint = await endpointOr404(request.params.id);
    const secret = generateSecret();
    const grace = request.body.graceSeconds === undefined ? graceMs : request.body.graceSeconds * 1000;
    const at = now().getTime();
    const rotated = await audit.record({ actor: request.principal!.name, action: 'webhook.rotate_secret', object: `webhook:${endpoint.id}`, before: null, after: { graceMs: grace }, requestId: request.id },
      () => store.rotateSecret(endpoint.id, secret, grace, at),
      (ok) => (ok ? {} : null));
    if (!rotated) throw notFound('webhook', endpoint.id);
    return { secret, previousSecretsExpireAt: new Date(at + grace).toISOString() };
  });

  app.post('/webhooks/:id/enable', {
    onRequest: requireRole('admin'),
    schema: { tags: ['webhooks'], summary: 'Enable an endpoint that was disabled for failing', params: endpointParams, response: { 200: endpointSchema, ...errors(404) } },
  }, async (request) => {
    const endpoint = await endpointOr404(request.params.id);
    const enabled = await audit.record({ actor: request.principal!.name, action: 'webhook.enable', object: `webhook:${endpoint.id}`, before: { disabled: endpoint.disabled }, after: { disabled: null }, requestId: request.id },
      () => store.enableEndpoint(endpoint.id),
      (e) => (e ? {} : null));
    if (!enabled) throw notFound('webhook', endpoint.id);
    return enabled;
  });
};
