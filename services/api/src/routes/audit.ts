import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditCopyReader, AuditEntry, BrokenReason } from '@flopwatch/store';
import { ApiError } from '../errors.js';
import { requireRole } from '../auth.js';
import type { RouteOptions } from '../deps.js';
import { EXPORT_TIMEOUT_MS, exportQuerySchema, sendExport } from '../export.js';
import { errors, instantSchema, limitSchema } from '../schemas.js';

export const auditEntrySchema = z.object({
  id: z.string(),
  seq: z.number().int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  object: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  note: z.string().optional(),
  requestId: z.string().optional(),
  prev: z.string().describe('hash of the previous entry'),
  hash: z.string().describe('sha256(prev + canonical entry)'),
  kid: z.string().optional().describe('id of the HMAC key the entry was sealed with (absent: sealed unkeyed)'),
  mac: z.string().optional().describe('HMAC-SHA256 of the entry under that key'),
});

/** The CSV columns of the audit export (also written by `pnpm audit:rebuild`). */
export const AUDIT_COLUMNS = ['seq', 'id', 'at', 'actor', 'action', 'object', 'note', 'requestId', 'before', 'after', 'prev', 'hash', 'kid', 'mac'] as const satisfies readonly (keyof AuditEntry)[];

const BROKEN_REASONS = ['hash_mismatch', 'prev_mismatch', 'seq_gap', 'head_mismatch', 'mac_mismatch', 'mac_missing', 'unknown_key', 'oldest_deleted', 'floor_mac_mismatch'] as const satisfies readonly BrokenReason[];

/** GET /v1/audit (newest first), /v1/audit/verify (the hash chain) and /v1/audit/export (NDJSON or CSV). */
export const auditRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { audit } = deps.store;

  app.get('/audit', {
    onRequest: requireRole('analyst'),
    schema: {
      tags: ['audit'],
      summary: 'Audit log entries, newest first, filtered by actor, object and time',
      querystring: z.object({
        actor: z.string().min(1).max(256).optional(),
        object: z.string().min(1).max(300).optional().describe('<kind>:<id>, e.g. tenant:acme, case:cs_…, alert:al_…'),
        since: instantSchema.optional(),
        until: instantSchema.optional(),
        cursor: z.string().regex(/^\d+-\d+$/, 'must be the nextCursor of a previous page').optional(),
        limit: limitSchema,
      }).strict(),
      response: { 200: z.object({ entries: z.array(auditEntrySchema), nextCursor: z.string().nullable(), unsealed: z.number().int().describe('entries written but not yet sealed into the chain (listed once they are)') }), ...errors() },
    },
  }, async (request) => {
    const { cursor, ...q } = request.query;
    return audit.list({ ...q, ...(cursor ? { cursor } : {}) });
  });

  app.get('/audit/verify', {
    onRequest: requireRole('analyst'),
    schema: {
      tags: ['audit'],
      summary: 'Check the hash chain over a time range, compare it with its copy in Kafka, and name what was deleted, cut or rewritten',
      description: "Seals what waits first, then recomputes each sealed entry's hash and HMAC (with the keys configured outside Redis), checks it carries the previous entry's hash and that seq has no gap, that the oldest entry follows the floor retention trimmed to, and — without `until` — that the log ends at the chain head. `ok: false` names the first entry that fails and why (`broken`), the differences with the copy in the audit topic (`findings`: entries deleted, truncated or rewritten in Redis or in Kafka), or the changes whose audit entry is not confirmed (`unconfirmed`: a KYC, lineage or webhook change whose write failed half-way). `unsealed` counts entries not yet sealed.",
      querystring: z.object({
        since: instantSchema.optional(),
        until: instantSchema.optional(),
        copy: z.enum(['true', 'false']).default('true').describe('compare with the copy in the audit topic (when publishing is configured); false checks Redis alone'),
      }).strict(),
      response: {
        200: z.object({
          ok: z.boolean(),
          checked: z.number().int(),
          firstSeq: z.number().int().nullable(),
          lastSeq: z.number().int().nullable(),
          broken: z.object({ id: z.string(), seq: z.number().int(), reason: z.enum(BROKEN_REASONS), message: z.string() }).nullable()
            .describe('the first link that does not hold: hash_mismatch (edited), mac_mismatch / mac_missing (recomputed without the key), unknown_key, seq_gap / prev_mismatch (removed or reordered), oldest_deleted (the oldest entries deleted: the log does not start at the floor), floor_mac_mismatch, head_mismatch (cut off at the end)'),
          unsealed: z.number().int().describe('entries written with their change, not yet sealed into the chain'),
          unconfirmed: z.array(z.object({
            id: z.string(), at: z.string(), actor: z.string(), action: z.string(), object: z.string(), after: z.unknown(),
            note: z.string().optional(), requestId: z.string().optional(), error: z.string().optional(),
          })).describe('changes (KYC, lineages, webhooks) recorded as intents whose audit entry is not confirmed: they may or may not have been written'),
          keyed: z.boolean().describe('whether HMACs were checked (AUDIT_HMAC_KEYS configured)'),
          unkeyed: z.number().int().describe('entries without an HMAC accepted: sealed before keys were configured'),
          floor: z.object({ seq: z.number().int() }).nullable().describe('the last seq retention trimmed; null when nothing was'),
          copy: z.object({ read: z.number().int(), firstSeq: z.number().int().nullable(), lastSeq: z.number().int().nullable(), unpublished: z.number().int() }).nullable()
            .describe('the copy in the audit topic as read (null when not configured): entries read, first and last seq, entries sealed but not yet published'),
          findings: z.array(z.object({
            kind: z.enum(['deleted', 'truncated', 'rewritten']), where: z.enum(['redis', 'kafka']), fromSeq: z.number().int(), toSeq: z.number().int(), message: z.string(),
          })).describe('differences between Redis and the audit topic (at most 100)'),
        }),
        ...errors(),
      },
    },
  }, async (request) => {
    const { copy, ...range } = request.query;
    const topic = copy === 'true' ? deps.auditTopic : undefined;
    const read: AuditCopyReader | undefined = topic && (async (q, onEntries) => {
      try {
        await topic.read(q, onEntries);
      } catch (err) {
        throw new ApiError(503, 'UNAVAILABLE', `the audit topic ${topic.topic} could not be read to compare with Redis: retry, or check Redis alone with copy=false`, { retryable: true, topic: topic.topic }, { cause: err });
      }
    });
    return audit.verify({ ...range, ...(read ? { copy: read } : {}) });
  });

  app.get('/audit/export', {
    onRequest: requireRole('analyst'),
    handlerTimeout: EXPORT_TIMEOUT_MS,
    schema: {
      tags: ['audit'],
      summary: 'Every audit entry in a time range, oldest first, as NDJSON or CSV (streamed), for archiving',
      querystring: exportQuerySchema,
      response: errors(),
    },
  }, async (request, reply) => {
    const { format, ...range } = request.query;
    return sendExport(reply, 'audit', format, AUDIT_COLUMNS, audit.export(range));
  });
};
