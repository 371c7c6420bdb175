import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  alertRuleSchema, alertSchema, MAX_CASE_COMMENTS, MAX_CASE_HISTORY, withEvent, caseStatusSchema, caseSummary, ContractError, idSchema, SEVERITIES, severitySchema, tenantSchema, transitionActionSchema,
  type Alert, type Case, type Severity, type Tenant, type TransitionAction,
} from '@flopwatch/contracts';
import { tenantRisk } from '@flopwatch/policy';
import { CaseNotFoundError, type CaseChange } from '@flopwatch/store';
import { Gauge } from 'prom-client';
import { READERS, requireRole, type Principal } from '../auth.js';
import { accountingEvidence, accountingEvidenceSchema, ancestry, ancestrySchema, caseTenants, linkGraph, linkGraphSchema, series, seriesSchema } from '../case-evidence.js';
import { caseRow, caseRowSchema, caseView, caseViewSchema, countsSchema, type Counts, type CaseView } from '../case-view.js';
import type { RouteOptions } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { EXPORT_TIMEOUT_MS, exportQuerySchema, sendExport } from '../export.js';
import { errors } from '../schemas.js';
import { auditEntrySchema } from './audit.js';
import { behaviourLinkSchema } from './behaviour-links.js';

const caseParams = z.object({ id: z.string().regex(/^cs_[0-9a-f]{24}$/, 'must be a case id: cs_ followed by 24 hex digits') });
const noteSchema = z.string().max(10_000).optional();
const NOTE_REQUIRED = new Set<TransitionAction>(['resolve', 'mark_false_positive']);
const transitionBody = z.object({ action: transitionActionSchema, note: noteSchema }).strict().superRefine((t, ctx) => {
  if (NOTE_REQUIRED.has(t.action) && !t.note?.trim()) ctx.addIssue({ code: 'custom', path: ['note'], message: `a note is required to ${t.action}` });
});
const actorSchema = z.string().min(1).max(256).regex(/^[^\s].*$/, 'must not start with a space');

const CASE_COLUMNS = ['id', 'rule', 'scope', 'subject', 'status', 'severity', 'level', 'threshold', 'observedOperations', 'projectedCrossingAt', 'assignee', 'tags', 'tenants', 'openedAt', 'updatedAt', 'dueAt', 'overdue', 'alerts', 'comments', 'history'] as const;

const detailSchema = z.object({
  case: caseViewSchema,
  alerts: z.array(alertSchema),
  audit: z.array(auditEntrySchema),
  /** Current KYC records of the case's tenants (the case keeps the snapshot taken when it was raised). */
  tenants: z.array(z.object({ tenantId: z.string(), record: tenantSchema.nullable(), risk: z.object({ tier: z.number().int(), trusted: z.boolean(), reasons: z.array(z.string()) }).describe('as the policy pack judges the record now') })),
  graph: linkGraphSchema.nullable().describe('structuring of a group: linked tenants and the identifiers linking them'),
  ancestry: ancestrySchema.nullable().describe('lineage cases: the lineage and its ancestors, with how each link was found'),
  accounting: accountingEvidenceSchema.describe('per tenant of the case: measured against allocated GPU time, and conflicting reports (first counted wins)'),
  behaviour: z.array(behaviourLinkSchema).describe('behavioural links (co-scheduled jobs, checkpoint hand-offs) between tenants of the case, with their evidence'),
});

/** The case queue and case actions: list, detail, series, assign, comment, tags, transitions, bulk acknowledge, export. */
export const caseRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { casebook, caseIndex, caseMoves, audit, alerts, registry } = deps.store;
  const now = deps.now ?? (() => new Date());
  const view = (c: Case) => caseView(c, deps.pack, now());

  const dueMs = Object.fromEntries(SEVERITIES.map((s) => [s, deps.pack.cases.dueHours[s] * 3_600_000])) as Record<Severity, number>;
  // Counts over every case, from the store's counters and due-time indexes (never by reading cases).
  const countAll = async (): Promise<Counts> => {
    const c = await caseIndex.counts(now(), dueMs);
    const active = Object.values(c.activeBySeverity).reduce((a, n) => a + n, 0);
    return { active, byStatus: c.byStatus, activeBySeverity: c.activeBySeverity, overdue: Object.values(c.overdueBySeverity).reduce((a, n) => a + n, 0), unassigned: c.unassigned };
  };
  new Gauge({
    name: 'flopwatch_cases_overdue', help: 'Active cases past their due time (policy pack cases.dueHours), by severity.', labelNames: ['severity'], registers: [deps.metricsRegistry],
    async collect() {
      const { overdueBySeverity } = await caseIndex.counts(now(), dueMs);
      for (const severity of severitySchema.options) this.set({ severity }, overdueBySeverity[severity]);
    },
  });
  new Gauge({
    name: 'flopwatch_cases', help: 'Cases by status.', labelNames: ['status'], registers: [deps.metricsRegistry],
    async collect() {
      const { byStatus } = await caseIndex.counts(now(), dueMs);
      for (const status of caseStatusSchema.options) this.set({ status }, byStatus[status] ?? 0);
    },
  });

  /** Applies an analyst's change, turning store and lifecycle errors into API errors. */
  async function change(id: string, fn: (c: Case) => CaseChange): Promise<CaseView> {
    try {
      return view(await casebook.update(id, fn));
    } catch (err) {
      if (err instanceof CaseNotFoundError) throw notFound('case', id);
      if (err instanceof ContractError) throw new ApiError(409, 'CONFLICT', err.message, { case: id }, { cause: err });
      throw err;
    }
  }

  /**
   * A case transition: the case and each of its alerts that allows it move in one step with their
   * outbox and audit entries (store's case-moves.ts), so webhooks get alert.updated and Alertmanager
   * ends the alerts of a closed case, whatever crash or conflict happens around it.
   */
  async function transitionCase(id: string, principal: Principal, action: TransitionAction, note: string | undefined, requestId: string): Promise<CaseView> {
    try {
      return view((await caseMoves.moveCase(id, action, { actor: principal.name, ...(note ? { note } : {}), requestId, at: now() })).case);
    } catch (err) {
      if (err instanceof CaseNotFoundError) throw notFound('case', id);
      if (err instanceof ContractError) throw new ApiError(409, 'CONFLICT', err.message, { case: id }, { cause: err });
      throw err;
    }
  }

  app.get('/cases', {
    onRequest: requireRole(...READERS),
    schema: {
      tags: ['cases'],
      summary: 'The case queue: filtered, sorted by severity then projected crossing, with counts',
      querystring: z.object({
        rule: alertRuleSchema.optional(),
        severity: severitySchema.optional(),
        status: z.union([caseStatusSchema, z.literal('active'), z.literal('all')]).default('active').describe('active = open, acknowledged or escalated'),
        assignee: actorSchema.optional().describe('an assignee, or `none` for unassigned cases'),
        tenant: idSchema.optional().describe("the case's tenant or a contributing tenant"),
        overdue: z.enum(['true', 'false']).optional(),
        sort: z.enum(['priority', 'opened', 'updated']).default('priority'),
        limit: z.coerce.number().int().min(1).max(1000).default(200),
      }).strict(),
      response: { 200: z.object({ cases: z.array(caseRowSchema), total: z.number().int(), counts: countsSchema.describe('over every case, whatever the filters') }), ...errors() },
    },
  }, async (request) => {
    const q = request.query;
    const [page, counts] = await Promise.all([
      caseIndex.queue({
        status: q.status, sort: q.sort, limit: q.limit, now: now(), dueMs,
        ...(q.rule ? { rule: q.rule } : {}), ...(q.severity ? { severity: q.severity } : {}), ...(q.assignee ? { assignee: q.assignee } : {}),
        ...(q.tenant ? { tenant: q.tenant } : {}), ...(q.overdue ? { overdue: q.overdue === 'true' } : {}),
      }),
      countAll(),
    ]);
    const cases = await casebook.getMany(page.ids);
    return { cases: cases.filter((c): c is Case => c !== null).map((c) => caseRow(view(c))), total: page.total, counts };
  });

  app.get('/cases/export', {
    onRequest: requireRole('analyst'),
    handlerTimeout: EXPORT_TIMEOUT_MS,
    schema: { tags: ['cases'], summary: 'Every case active in a time range (opened before its end, updated after its start), as NDJSON or CSV (streamed)', querystring: exportQuerySchema, response: errors() },
  }, async (request, reply) => {
    const { format, since, until } = request.query;
    async function* rows() {
      for await (const c of casebook.scan({ ...(until ? { openedUntil: until } : {}), ...(since ? { updatedSince: since } : {}) })) yield view(c);
    }
    return sendExport(reply, 'cases', format, CASE_COLUMNS, rows());
  });

  app.get('/cases/:id', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['cases'], summary: 'One case with its alerts, history, comments, audit entries, KYC records and evidence', params: caseParams, response: { 200: detailSchema, ...errors(404) } },
  }, async (request) => {
    const c = await casebook.get(request.params.id);
    if (!c) throw notFound('case', request.params.id);
    const tenantIds = await caseTenants(deps.store, c);
    const [alertRecords, entries, records, graph, lineage, accounting, behaviour] = await Promise.all([
      Promise.all(c.alerts.map((a) => alerts.get<Alert>(a.id))),
      audit.caseEntries(c.id),
      registry.getTenants<Tenant>(tenantIds.slice(0, 50)),
      c.scope === 'group' ? linkGraph(deps.store, tenantIds) : null,
      c.scope === 'lineage' ? ancestry(deps.store, c.subject) : null,
      accountingEvidence(deps.store, tenantIds),
      deps.store.behaviourLinks.list().then((all) => all.filter((l) => l.tenants.some((t) => tenantIds.includes(t)))),
    ]);
    return {
      case: view(c),
      alerts: alertRecords.filter((a): a is Alert => a !== null),
      audit: entries.entries,
      tenants: [...records].map(([tenantId, record]) => {
        const risk = tenantRisk(record ?? undefined, deps.pack);
        return { tenantId, record, risk: { tier: risk.tier, trusted: risk.trusted, reasons: risk.reasons } };
      }),
      graph,
      ancestry: lineage,
      accounting,
      behaviour,
    };
  });

  app.get('/cases/:id/series', {
    onRequest: requireRole(...READERS),
    schema: { tags: ['cases'], summary: "The subject's cumulative operations by day, the rule's levels and the projected crossing (the case chart)", params: caseParams, response: { 200: seriesSchema, ...errors(404) } },
  }, async (request) => {
    const c = await casebook.get(request.params.id);
    if (!c) throw notFound('case', request.params.id);
    return series(deps.store, c, deps.pack, await caseTenants(deps.store, c));
  });

  app.post('/cases/:id/transitions', {
    onRequest: requireRole('analyst'),
    schema: {
      tags: ['cases'],
      summary: 'Move a case: acknowledge | escalate | resolve | mark_false_positive (a note is required for the last two)',
      description: 'open → acknowledged → escalated → resolved | false_positive; an illegal transition is 409. A higher level raised later reopens a closed case. The case, each of its alerts that allows the transition, their audit entries and the alerts\' outbox entries are written in one step (webhooks get alert.updated; Alertmanager ends the alerts of a closed case).',
      params: caseParams, body: transitionBody, response: { 200: caseViewSchema, ...errors(404, 409) },
    },
  }, async (request) => transitionCase(request.params.id, request.principal!, request.body.action, request.body.note, request.id));

  app.post('/cases/:id/assign', {
    onRequest: requireRole('analyst'),
    schema: { tags: ['cases'], summary: 'Assign the case to an analyst (null: unassign)', params: caseParams, body: z.object({ assignee: actorSchema.nullable(), note: noteSchema }).strict(), response: { 200: caseViewSchema, ...errors(404) } },
  }, async (request) => {
    const principal = request.principal!;
    const { assignee, note } = request.body;
    return change(request.params.id, (c) => {
      const at = now().toISOString();
      const next: Case = { ...c, assignee, updatedAt: at, ...withEvent(c, { at, action: 'assign', actor: principal.name, from: c.status, to: c.status, assignee, ...(note ? { note } : {}) }) };
      return { next, audit: { actor: principal.name, action: 'case.assign', before: caseSummary(c), after: caseSummary(next), ...(note ? { note } : {}), requestId: request.id } };
    });
  });

  app.post('/cases/:id/comments', {
    onRequest: requireRole('analyst'),
    schema: {
      tags: ['cases'], summary: 'Add a comment',
      description: `A case holds at most ${MAX_CASE_COMMENTS} comments of at most 10,000 characters; one more is 409 LIMIT_REACHED (nothing written). The history keeps the newest ${MAX_CASE_HISTORY} events (historyDropped counts the rest); the audit entries on the case page keep every change.`,
      params: caseParams, body: z.object({ text: z.string().trim().min(1).max(10_000) }).strict(), response: { 200: caseViewSchema, ...errors(404, 409) },
    },
  }, async (request) => {
    const principal = request.principal!;
    const { text } = request.body;
    return change(request.params.id, (c) => {
      if (c.comments.length >= MAX_CASE_COMMENTS) {
        throw new ApiError(409, 'LIMIT_REACHED', `case ${c.id} holds ${c.comments.length} comments, the most a case may hold (${MAX_CASE_COMMENTS}); nothing was written`, { case: c.id, comments: c.comments.length, limit: MAX_CASE_COMMENTS });
      }
      const at = now().toISOString();
      const next: Case = {
        ...c, updatedAt: at, comments: [...c.comments, { id: randomUUID(), at, actor: principal.name, text }],
        ...withEvent(c, { at, action: 'comment', actor: principal.name, from: c.status, to: c.status, note: text }),
      };
      return { next, audit: { actor: principal.name, action: 'case.comment', before: caseSummary(c), after: caseSummary(next), note: text, requestId: request.id } };
    });
  });

  app.put('/cases/:id/tags', {
    onRequest: requireRole('analyst'),
    schema: { tags: ['cases'], summary: "Replace the case's tags", params: caseParams, body: z.object({ tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, . _ -')).max(32) }).strict(), response: { 200: caseViewSchema, ...errors(404) } },
  }, async (request) => {
    const principal = request.principal!;
    const tags = [...new Set(request.body.tags)];
    return change(request.params.id, (c) => {
      const at = now().toISOString();
      const next: Case = { ...c, tags, updatedAt: at, ...withEvent(c, { at, action: 'tag', actor: principal.name, from: c.status, to: c.status, note: tags.join(', ') }) };
      return { next, audit: { actor: principal.name, action: 'case.tag', before: caseSummary(c), after: caseSummary(next), requestId: request.id } };
    });
  });

  app.post('/cases/acknowledge', {
    onRequest: requireRole('analyst'),
    schema: {
      tags: ['cases'],
      summary: 'Acknowledge several cases at once; each is applied (with its audit entry) or reported on its own',
      body: z.object({ ids: z.array(caseParams.shape.id).min(1).max(200), note: noteSchema }).strict(),
      response: { 200: z.object({ results: z.array(z.object({ id: z.string(), ok: z.boolean(), status: caseStatusSchema.nullable(), error: z.string().nullable() })) }), ...errors() },
    },
  }, async (request) => {
    const results = [];
    for (const id of [...new Set(request.body.ids)]) {
      try {
        const c = await transitionCase(id, request.principal!, 'acknowledge', request.body.note, request.id);
        results.push({ id, ok: true, status: c.status, error: null });
      } catch (err) {
        if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
        results.push({ id, ok: false, status: null, error: err.message });
      }
    }
    return { results };
  });
};
