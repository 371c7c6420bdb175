import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { alertRuleSchema, alertSchema, alertTransitionSchema, caseStatusSchema, ContractError, idSchema, severitySchema, type Alert } from '@flopwatch/contracts';
import { AlertNotFoundError } from '@flopwatch/store';
import { READERS, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { errors, instantSchema, limitSchema } from '../schemas.js';

const alertParams = z.object({ id: z.string().regex(/^al_[0-9a-f]{24}$/, 'must be an alert id: al_ followed by 24 hex digits') });

const NOTE_REQUIRED = new Set(['resolve', 'mark_false_positive']);
const transitionBodySchema = alertTransitionSchema.strict().superRefine((t, ctx) => {
  if (NOTE_REQUIRED.has(t.action) && !t.note?.trim()) ctx.addIssue({ code: 'custom', path: ['note'], message: `a note is required to ${t.action}` });
});

/** Alert triage: GET /v1/alerts, GET /v1/alerts/:id, POST /v1/alerts/:id/transitions. */
export const alertRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { cases, caseMoves } = deps.store;
  const now = deps.now ?? (() => new Date());

  app.get('/alerts', {
    onRequest: requireRole(...READERS),
    schema: {
      tags: ['alerts'],
      summary: 'Alerts, newest first, filtered',
      querystring: z.object({
        status: caseStatusSchema.optional(),
        severity: severitySchema.optional(),
        rule: alertRuleSchema.optional(),
        tenant: idSchema.optional().describe("the alert's tenant or a contributing tenant"),
        since: instantSchema.optional().describe('raised at or after (RFC 3339)'),
        until: instantSchema.optional().describe('raised at or before (RFC 3339)'),
        cursor: z.string().regex(/^\d+:al_[0-9a-f]{24}$/, 'must be the nextCursor of a previous page').optional(),
        limit: limitSchema,
      }).strict(),
      response: { 200: z.object({ alerts: z.array(alertSchema), nextCursor: z.string().nullable() }), ...errors() },
    },
  }, async (request) => {
    const { cursor, ...q } = request.query;
    const page = await cases.list<Alert>({ ...q, ...(cursor ? { cursor } : {}) });
    return { alerts: page.alerts, nextCursor: page.nextCursor };
  });

  app.get('/alerts/:id', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['alerts'], summary: 'One alert with its evidence and case history', params: alertParams, response: { 200: alertSchema, ...errors(404) } },
  }, async (request) => {
    const raw = await cases.raw(request.params.id);
    if (!raw) throw notFound('alert', request.params.id);
    return JSON.parse(raw) as Alert;
  });

  app.post('/alerts/:id/transitions', {
    onRequest: requireRole('analyst'),
    schema: {
      tags: ['alerts'],
      summary: 'Move a case: acknowledge | escalate | resolve | mark_false_positive (a note is required for the last two)',
      description: 'open → acknowledged → escalated → resolved | false_positive. An illegal transition is 409. The alert moves its case in the same step: acknowledge and escalate move the case (and its other alerts) when the case allows it; resolve and mark_false_positive close the case when no other alert of it stays open. Every change lands in the histories, the audit log and (as alert.updated) the outbox for webhooks and Alertmanager, in one step. Triage of cases (every level of one rule and subject) is under /v1/cases. `actor` is taken from the API key (admins may name another).',
      params: alertParams,
      body: transitionBodySchema,
      response: { 200: alertSchema, ...errors(404, 409) },
    },
  }, async (request) => {
    const { id } = request.params;
    const { action, note } = request.body;
    const principal = request.principal!;
    const actor = principal.role === 'admin' && request.body.actor ? request.body.actor : principal.name;
    try {
      const moved = await caseMoves.moveAlert(id, action, { actor: principal.name, historyActor: actor, ...(note ? { note } : {}), requestId: request.id, at: now() });
      return moved.alert;
    } catch (err) {
      if (err instanceof AlertNotFoundError) throw notFound('alert', id);
      if (err instanceof ContractError) {
        const current = await cases.raw(id);
        const status = current ? (JSON.parse(current) as Alert).status : null;
        throw new ApiError(409, 'CONFLICT', err.message, { status, action }, { cause: err });
      }
      throw err;
    }
  });
};
