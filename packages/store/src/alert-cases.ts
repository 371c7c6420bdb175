import { createHash } from 'node:crypto';
import type { AuditLog, NewAuditEntry } from './audit.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';

/** The fields of an alert record that triage reads; the full shape is the contracts' alert schema. */
export interface CaseAlert {
  id: string;
  rule: string;
  scope: string;
  subject: string;
  severity: string;
  status: string;
  raisedAt: string;
  kyc: { tenantId: string } | null;
  evidence?: { contributingTenants?: { tenantId: string }[] };
  history: unknown[];
}

export interface AlertQuery {
  status?: string;
  severity?: string;
  rule?: string;
  /** The alert's tenant, or a tenant among its contributors. */
  tenant?: string;
  since?: Date;
  until?: Date;
  /** `nextCursor` of the previous page (alerts come newest first). */
  cursor?: string;
  limit: number;
}

export interface AlertPage<A> {
  alerts: A[];
  nextCursor: string | null;
}

/** Result of a compare-and-set: the record changed since it was read, or no longer exists. */
export type ReplaceResult = 'replaced' | 'conflict' | 'missing';


// A filtered page reads at most this many index entries; a sparse filter continues through nextCursor.
const MAX_SCAN = 5_000;
const CHUNK = 200;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

const matches = (a: CaseAlert, q: AlertQuery) =>
  (q.status === undefined || a.status === q.status) &&
  (q.severity === undefined || a.severity === q.severity) &&
  (q.rule === undefined || a.rule === q.rule) &&
  (q.tenant === undefined ||
    a.kyc?.tenantId === q.tenant ||
    (a.scope === 'tenant' && a.subject === q.tenant) ||
    (a.evidence?.contributingTenants ?? []).some((c) => c.tenantId === q.tenant));

// Cursor: "<raisedAt ms>:<id>" of the last alert returned; ties on the score are ordered by id.
const encodeCursor = (score: number, id: string) => `${score}:${id}`;
function decodeCursor(cursor: string): { score: number; id: string } | null {
  const i = cursor.indexOf(':');
  const score = Number(cursor.slice(0, i));
  return i > 0 && Number.isFinite(score) ? { score, id: cursor.slice(i + 1) } : null;
}

/** Alert triage over the alert records: filtered listing and case transitions. */
export function createAlertCases({ redis, keys, audit }: { redis: RedisClient; keys: Keys; audit: AuditLog }) {
  const scripts = defineScripts(redis);

  /** The record as stored (JSON text), or null. */
  async function raw(id: string): Promise<string | null> {
    return redis.get(keys.alerts.record(id));
  }

  return {
    raw,

    /** Alerts newest first (by raisedAt), filtered. */
    async list<A extends CaseAlert>(query: AlertQuery): Promise<AlertPage<A>> {
      const skip = query.cursor ? decodeCursor(query.cursor) : null;
      let max = skip ? skip.score : query.until ? query.until.getTime() : Number.POSITIVE_INFINITY;
      const min = query.since ? query.since.getTime() : Number.NEGATIVE_INFINITY;
      // Entries at score `max` already read: ties come in reverse id order, so they lead the next read.
      let offset = 0;
      let last: { id: string; score: number } | null = null;
      const out: A[] = [];
      let scanned = 0;
      while (scanned < MAX_SCAN) {
        const flat = await redis.zrevrangebyscore(keys.alerts.index, max === Infinity ? '+inf' : max, min === -Infinity ? '-inf' : min, 'WITHSCORES', 'LIMIT', offset, CHUNK);
        const page: { id: string; score: number }[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) page.push({ id: flat[i]!, score: Number(flat[i + 1]) });
        const records = await Promise.all(page.map((p) => raw(p.id)));
        for (const [i, p] of page.entries()) {
          if (p.score === max) offset++;
          else {
            max = p.score;
            offset = 1;
          }
          if (skip && p.score === skip.score && p.id >= skip.id) continue;
          scanned++;
          last = p;
          const text = records[i];
          if (!text) continue;
          const alert = JSON.parse(text) as A;
          if (!matches(alert, query)) continue;
          out.push(alert);
          if (out.length === query.limit) return { alerts: out, nextCursor: encodeCursor(p.score, p.id) };
        }
        if (page.length < CHUNK) return { alerts: out, nextCursor: null };
      }
      return { alerts: out, nextCursor: last ? encodeCursor(last.score, last.id) : null };
    },

    /**
     * Replaces the record with `next` only if it is still `readText`, puts an `alert.updated` entry in
     * the outbox and appends the audit entry (default: `alert.update` by flopwatch), in one script
     * (lua/transition-alert-3.lua).
     */
    async replace(id: string, readText: string, next: object, entry?: Omit<NewAuditEntry, 'object'>): Promise<ReplaceResult> {
      const e = { actor: 'flopwatch', action: 'alert.update', before: null, after: null, ...entry, object: `alert:${id}` };
      const write = audit.write(e);
      const reply = await scripts.transitionAlert({
        keys: { record: keys.alerts.record(id), outbox: keys.alerts.outbox, unsealed: keys.audit.unsealed },
        args: { ...write, alertId: id, version: sha1(readText), record: JSON.stringify(next) },
      });
      return reply === 'done' ? 'replaced' : reply === 'stale' ? 'conflict' : 'missing';
    },
  };
}

export type AlertCases = ReturnType<typeof createAlertCases>;
