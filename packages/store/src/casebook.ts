import { createHash } from 'node:crypto';
import { isClosed, type Case } from '@flopwatch/contracts';
import { AuditContentionError, MAX_CHAIN_ATTEMPTS, type AuditLog, type NewAuditEntry } from './audit.js';
import { caseFacets, caseIndexEntry, type CaseFacets } from './case-index.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';

/** A case change: the new case and what the audit log says of it. */
export interface CaseChange {
  next: Case;
  audit: Omit<NewAuditEntry, 'object'>;
}

export interface CaseFilter {
  rule?: string;
  severity?: string;
  status?: string;
  /** `none` for unassigned cases. */
  assignee?: string;
  /** The case's tenant or a contributing tenant. */
  tenant?: string;
  /** Opened at or before. */
  openedUntil?: Date;
  /** Updated at or after. */
  updatedSince?: Date;
}

/** Thrown by update() when the case does not exist. */
export class CaseNotFoundError extends Error {
  readonly code = 'CASE_NOT_FOUND';
  readonly retryable = false;
  constructor(readonly caseId: string) {
    super(`case ${caseId} does not exist`);
  }
}

// scan() reads the case index in chunks, and only the cases whose index entry passes the filter.
const CHUNK = 500;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

const matches = (c: CaseFacets, f: CaseFilter) =>
  (f.rule === undefined || c.r === f.rule) &&
  (f.severity === undefined || c.v === f.severity) &&
  (f.status === undefined || (f.status === 'active' ? !isClosed(c.s) : c.s === f.status)) &&
  (f.assignee === undefined || (f.assignee === 'none' ? c.a === null : c.a === f.assignee)) &&
  (f.tenant === undefined || c.t.includes(f.tenant)) &&
  (f.updatedSince === undefined || c.u >= f.updatedSince.getTime());

/** Cases: one per rule + scope + subject, opened and escalated by alerts, worked by analysts. */
export function createCasebook({ redis, keys, audit }: { redis: RedisClient; keys: Keys; audit: AuditLog }) {
  const scripts = defineScripts(redis);

  async function get(id: string): Promise<Case | null> {
    const raw = await redis.get(keys.cases.record(id));
    return raw === null ? null : (JSON.parse(raw) as Case);
  }

  return {
    get,

    /** Cases by id, in the order given (null for one that does not exist); one MGET (one slot). */
    async getMany(ids: string[]): Promise<(Case | null)[]> {
      if (ids.length === 0) return [];
      return (await redis.mget(...ids.map((id) => keys.cases.record(id)))).map((raw) => (raw === null ? null : (JSON.parse(raw) as Case)));
    },

    /**
     * Every case matching the filter, in the order they were opened (oldest first), however many:
     * a cursor (openedAt, id) pages through the case index, the index entries filter, and only the
     * cases that pass are read.
     */
    async *scan(filter: CaseFilter = {}): AsyncGenerator<Case> {
      const max = filter.openedUntil ? filter.openedUntil.getTime() : '+inf';
      // Cursor: the last score read, how many members at that score were read, and the last id.
      let score = Number.NEGATIVE_INFINITY;
      let ties = 0;
      let lastId = '';
      for (;;) {
        const flat = await redis.zrangebyscore(keys.cases.index, score === Number.NEGATIVE_INFINITY ? '-inf' : score, max, 'WITHSCORES', 'LIMIT', ties, CHUNK);
        const ids: string[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const id = flat[i]!;
          const s = Number(flat[i + 1]);
          // A case inserted at the cursor's score meanwhile shifts the ties: never yield one twice.
          const seen = s === score && id <= lastId;
          if (s === score) ties++;
          else {
            score = s;
            ties = 1;
          }
          if (!seen) ids.push(id);
          lastId = id;
        }
        if (ids.length > 0) {
          const entries = await redis.hmget(keys.cases.entries, ...ids);
          // A case without an entry (a store not yet migrated) is read and filtered as it is.
          const wanted = ids.filter((_, i) => {
            const e = entries[i];
            return e === null || e === undefined || matches((JSON.parse(e) as { f: CaseFacets }).f, filter);
          });
          const raws = wanted.length === 0 ? [] : await redis.mget(...wanted.map((id) => keys.cases.record(id)));
          for (const raw of raws) {
            if (!raw) continue;
            const c = JSON.parse(raw) as Case;
            if (matches(caseFacets(c), filter)) yield c;
          }
        }
        if (flat.length < 2 * CHUNK) return;
      }
    },

    /**
     * Applies `change` to the case as it stands and writes the new case with its audit entry in one
     * script (lua/update-case-5.lua), with the case's queue indexes (case-index.ts); re-reads and re-applies when another change landed in between
     * (compare-and-set on the case's version).
     * `change` may throw (e.g. an illegal transition): nothing is written then.
     */
    async update(id: string, change: (c: Case) => CaseChange): Promise<Case> {
      for (let attempt = 0; attempt < MAX_CHAIN_ATTEMPTS; attempt++) {
        const text = await redis.get(keys.cases.record(id));
        if (text === null) throw new CaseNotFoundError(id);
        const { next, audit: entry } = change(JSON.parse(text) as Case);
        const write = audit.write({ ...entry, object: `case:${id}` });
        const reply = await scripts.updateCase({
          keys: { case: keys.cases.record(id), caseIndex: keys.cases.index, unsealed: keys.audit.unsealed, caseEntries: keys.cases.entries, caseCounts: keys.cases.counts },
          args: { ...write, caseId: id, case: JSON.stringify(next), openedAt: Date.parse(next.openedAt), version: sha1(text), caseIndexEntry: JSON.stringify(caseIndexEntry(next)) },
        });
        if (reply === 'done') return next;
        if (reply === 'not_found') throw new CaseNotFoundError(id);
      }
      throw new AuditContentionError(`case ${id}`);
    },
  };
}

export type Casebook = ReturnType<typeof createCasebook>;
