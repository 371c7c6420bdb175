import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { alertRuleSchema, alertSchema, alertTransitionSchema, applyTransition, caseStatusSchema, ContractError, idSchema, severitySchema, type Alert, type CaseHistoryEntry } from '@flopwatch/contracts';
import { READERS, requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { errors, instantSchema, limitSchema } from '../schemas.js';

const alertParams = z.object({ id: z.string().regex(/^al_[0-9a-f]{24}$/, 'must be an alert id: al_ followed by 24 hex digits') });

const NOTE_REQUIRED = new Set(['resolve', 'mark_false_positive']);
const transitionBodySchema = alertTransitionSchema.strict().superRefine((t, ctx) => {
  if (NOTE_REQUIRED.has(t.action) && !t.note?.trim()) ctx.addIssue({ code: 'custom', path: ['note'], message: `a note is required to ${t.action}` });
});

// Concurrent transitions of one alert: a compare-and-set that lost re-reads and re-checks, this often.
const MAX_ATTEMPTS = 5;

/** Alert triage: GET /v1/alerts, GET /v1/alerts/:id, POST /v1/alerts/:id/transitions. */
export const alertRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { cases } = deps.store;
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
      description: 'open → acknowledged → escalated → resolved | false_positive. An illegal transition is 409. The change lands in the alert history, the audit log and (as alert.updated) the outbox for webhooks, in one step. Triage of cases (every level of one rule and subject) is under /v1/cases. `actor` is taken from the API key (admins may name another).',
      params: alertParams,
      body: transitionBodySchema,
      response: { 200: alertSchema, ...errors(404, 409) },
    },
  }, async (request) => {
    const { id } = request.params;
    const { action, note } = request.body;
    const principal = request.principal!;
    const actor = principal.role === 'admin' && request.body.actor ? request.body.actor : principal.name;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const raw = await cases.raw(id);
      if (!raw) throw notFound('alert', id);
      const alert = JSON.parse(raw) as Alert;
      let to: Alert['status'];
      try {
        to = applyTransition(alert.status, action);
      } catch (err) {
        if (err instanceof ContractError) throw new ApiError(409, 'CONFLICT', err.message, { status: alert.status, action }, { cause: err });
        throw err;
      }
      const at = now().toISOString();
      const entry: CaseHistoryEntry = { at, action, from: alert.status, to, actor, ...(note ? { note } : {}) };
      const next: Alert = { ...alert, status: to, history: [...alert.history, entry] };
      // The record, its outbox entry and its audit entry are written in one step.
      const outcome = await cases.replace(id, raw, next, { actor: principal.name, action: `alert.${action}`, before: { status: alert.status }, after: { status: to }, ...(note ? { note } : {}), requestId: request.id });
      if (outcome === 'missing') throw notFound('alert', id);
      if (outcome === 'conflict') continue;
      return next;
    }
    throw new ApiError(409, 'CONFLICT', `alert ${id} kept changing while this transition was applied; read it again`, { action });
  });
};
