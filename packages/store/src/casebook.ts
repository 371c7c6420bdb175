import { createHash } from 'node:crypto';
import { isClosed, type Case } from '@flopwatch/contracts';
import { AuditContentionError, MAX_CHAIN_ATTEMPTS, type AuditLog, type NewAuditEntry } from './audit.js';
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

// Cases are few (one per rule and subject); listing reads them all, in chunks.
const CHUNK = 200;
const MAX_CASES = 20_000;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

const matches = (c: Case, f: CaseFilter) =>
  (f.rule === undefined || c.rule === f.rule) &&
  (f.severity === undefined || c.severity === f.severity) &&
  (f.status === undefined || (f.status === 'active' ? !isClosed(c.status) : c.status === f.status)) &&
  (f.assignee === undefined || (f.assignee === 'none' ? c.assignee === null : c.assignee === f.assignee)) &&
  (f.tenant === undefined || c.tenants.includes(f.tenant) || (c.scope === 'tenant' && c.subject === f.tenant)) &&
  (f.updatedSince === undefined || Date.parse(c.updatedAt) >= f.updatedSince.getTime());

/** Cases: one per rule + scope + subject, opened and escalated by alerts, worked by analysts. */
export function createCasebook({ redis, keys, audit }: { redis: RedisClient; keys: Keys; audit: AuditLog }) {
  const scripts = defineScripts(redis);

  async function get(id: string): Promise<Case | null> {
    const raw = await redis.get(keys.cases.record(id));
    return raw === null ? null : (JSON.parse(raw) as Case);
  }

  return {
    get,

    /** Cases matching the filter, in the order they were opened (oldest first). */
    async *scan(filter: CaseFilter = {}): AsyncGenerator<Case> {
      const max = filter.openedUntil ? filter.openedUntil.getTime() : '+inf';
      for (let offset = 0; offset < MAX_CASES; offset += CHUNK) {
        const ids = await redis.zrangebyscore(keys.cases.index, '-inf', max, 'LIMIT', offset, CHUNK);
        if (ids.length === 0) return;
        const raws = await redis.mget(...ids.map((id) => keys.cases.record(id)));
        for (const raw of raws) {
          if (!raw) continue;
          const c = JSON.parse(raw) as Case;
          if (matches(c, filter)) yield c;
        }
        if (ids.length < CHUNK) return;
      }
    },

    /**
     * Applies `change` to the case as it stands and writes the new case with its audit entry in one
     * script (lua/update-case-3.lua); re-reads and re-applies when another change landed in between
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
          keys: { case: keys.cases.record(id), caseIndex: keys.cases.index, unsealed: keys.audit.unsealed },
          args: { ...write, caseId: id, case: JSON.stringify(next), openedAt: Date.parse(next.openedAt), version: sha1(text) },
        });
        if (reply === 'done') return next;
        if (reply === 'not_found') throw new CaseNotFoundError(id);
      }
      throw new AuditContentionError(`case ${id}`);
    },
  };
}

export type Casebook = ReturnType<typeof createCasebook>;
