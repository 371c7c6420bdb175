import { createHash, randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idSchema } from '@flopwatch/contracts';
import { requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { errors } from '../schemas.js';
import { DAY_MS, dayIndex, isoDay, NOT_KEPT, readFigures, type SubjectKind } from '../statements/figures.js';
import { canonicalJson } from '../statements/signing.js';

/** The statement format's name; a change of meaning or shape gets a new one. */
export const STATEMENT_FORMAT = 'flopwatch.compute-statement.v1';
/** Longest period one statement covers (days): ten years of day buckets. */
const MAX_PERIOD_DAYS = 3660;
/** Most alerts a statement lists; more is refused (ask for a shorter period) rather than cut silently. */
const MAX_ALERTS = 10_000;

const dateSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC date, YYYY-MM-DD').refine((s) => Number.isInteger(dayIndex(s)) && isoDay(dayIndex(s)) === s, 'not a calendar date');
const requestSchema = z.object({
  scope: z.enum(['tenant', 'group', 'lineage']),
  id: idSchema,
  from: dateSchema.describe('first UTC day of the period'),
  to: dateSchema.describe('last UTC day of the period (inclusive)'),
}).strict();

const keySchema = z.object({ keyId: z.string(), algorithm: z.literal('Ed25519'), publicKey: z.string().describe('SPKI PEM'), current: z.boolean() });
const signedSchema = z.object({
  statement: z.record(z.string(), z.unknown()).describe(`the statement (${STATEMENT_FORMAT}; docs/statements.md)`),
  signature: z.object({ algorithm: z.literal('Ed25519'), keyId: z.string(), value: z.string().describe('base64 Ed25519 signature over the canonical JSON of `statement`') }),
});

interface ListedAlert { id: string; rule: string; scope: string; subject: string; level?: number; severity: string; status: string; raisedAt: string }

/** POST /v1/statements (issue a signed compute statement) and GET /v1/statements/keys (its public keys). */
export const statementRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const now = deps.now ?? (() => new Date());
  const signer = deps.statements?.signer ?? null;

  app.get('/statements/keys', {
    schema: { tags: ['statements'], summary: 'The public keys statements are signed with (open: auditors verify offline with them)', response: { 200: z.object({ keys: z.array(keySchema) }) } },
  }, async () => ({ keys: signer?.publicKeys ?? [] }));

  /** Alerts about the subject raised in [since, until], oldest first, all pages. */
  async function alertsOf(kind: SubjectKind, id: string, tenants: string[], since: Date, until: Date): Promise<ListedAlert[]> {
    const found = new Map<string, ListedAlert>();
    const walk = async (tenant: string | undefined, keep: (a: ListedAlert) => boolean) => {
      let cursor: string | undefined;
      do {
        const page = await deps.store.cases.list<ListedAlert & { kyc: null; history: [] }>({ since, until, limit: 500, ...(tenant ? { tenant } : {}), ...(cursor ? { cursor } : {}) });
        for (const a of page.alerts) if (keep(a)) found.set(a.id, a);
        if (found.size > MAX_ALERTS) throw new ApiError(400, 'VALIDATION_FAILED', `more than ${MAX_ALERTS} alerts were raised for this subject in the period: issue statements for shorter periods`, { maxAlerts: MAX_ALERTS });
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    };
    if (kind === 'lineage') await walk(undefined, (a) => a.scope === 'lineage' && a.subject === id);
    else {
      for (const t of tenants) await walk(t, () => true);
      if (kind === 'group') await walk(undefined, (a) => a.scope === 'group' && a.subject === id);
    }
    return [...found.values()]
      .sort((a, b) => (a.raisedAt < b.raisedAt ? -1 : a.raisedAt > b.raisedAt ? 1 : a.id < b.id ? -1 : 1))
      .map((a) => ({ id: a.id, rule: a.rule, scope: a.scope, subject: a.subject, ...(a.level !== undefined ? { level: a.level } : {}), severity: a.severity, status: a.status, raisedAt: a.raisedAt }));
  }

  app.post('/statements', {
    onRequest: requireRole('analyst'),
    schema: {
      tags: ['statements'],
      summary: 'Issue a signed compute statement for a tenant, a group or a lineage and a period of whole UTC days',
      body: requestSchema,
      response: { 200: signedSchema, ...errors(400, 404, 503) },
    },
  }, async (request) => {
    if (!signer) throw new ApiError(503, 'UNAVAILABLE', 'statements are not configured: set STATEMENT_SIGNING_KEY_FILE (docs/statements.md)');
    const { scope, id, from, to } = request.body;
    const period = { fromDay: dayIndex(from), toDay: dayIndex(to) };
    if (period.toDay < period.fromDay) throw new ApiError(400, 'VALIDATION_FAILED', 'body.to: the period ends before it starts', { fields: { 'body.to': 'before body.from' } });
    if (period.toDay - period.fromDay + 1 > MAX_PERIOD_DAYS) throw new ApiError(400, 'VALIDATION_FAILED', `body.to: a statement covers at most ${MAX_PERIOD_DAYS} days`, { fields: { 'body.to': 'period too long' } });

    let tenants: string[] = [];
    if (scope === 'tenant') tenants = [id];
    else if (scope === 'group') {
      tenants = [...(await deps.store.registry.groupMembers(id))].sort();
      if (tenants.length === 0) throw notFound('group', id);
    }
    const [read, clock, telemetry] = await Promise.all([
      readFigures(deps.store.statementBooks, { kind: scope, id, tenants }, period),
      deps.store.books.eventClock(),
      deps.statements?.telemetry ? deps.statements.telemetry() : Promise.resolve(null),
    ]);
    if (scope === 'lineage' && read.tenants.length === 0 && (await deps.store.registry.getLineage(id)) === null) throw notFound('lineage', id);
    const since = new Date(period.fromDay * DAY_MS);
    const until = new Date((period.toDay + 1) * DAY_MS - 1);
    const alerts = await alertsOf(scope, id, read.tenants, since, until);
    const issuedAt = now().toISOString();
    const statement = {
      format: STATEMENT_FORMAT,
      id: `st_${randomBytes(12).toString('hex')}`,
      issuedAt,
      issuer: { keyId: signer.keyId },
      subject: { kind: scope, id, tenants: read.tenants },
      period: { from, to, days: period.toDay - period.fromDay + 1, basis: 'whole UTC days; a report\'s operations fall on the UTC day its interval ends' },
      policyVersion: deps.pack.version,
      books: {
        eventClock: clock === null ? null : new Date(clock).toISOString(),
        latestUsageAt: read.latestEndMs === null ? null : new Date(read.latestEndMs).toISOString(),
      },
      telemetry,
      units: { teraOperations: '10^12 operations, exact integers', gpuMicroseconds: 'GPU-microseconds, exact integers', gpuHours: 'gpuMicroseconds / 3.6e9' },
      figures: read.figures,
      alerts: { raisedAt: 'within the period', count: alerts.length, list: alerts },
      notKept: NOT_KEPT[scope],
    };
    // The audit trail keeps every statement handed out, by the digest of what was signed.
    const sha256 = createHash('sha256').update(canonicalJson(statement)).digest('hex');
    const signed = await deps.store.audit.record(
      { actor: request.principal!.name, action: 'statement.issue', object: `statement:${statement.id}`, before: null, after: { subject: { kind: scope, id }, period: { from, to }, keyId: signer.keyId, sha256 }, requestId: request.id },
      async () => signer.sign(statement),
    );
    request.log.info({ statementId: statement.id, scope, subject: id, from, to, keyId: signer.keyId }, 'statement issued');
    return signed;
  });
};
