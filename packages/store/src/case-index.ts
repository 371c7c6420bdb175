// The case queue's indexes: what lets the queue, its counts, the gauges and the export answer from a
// few small reads whatever the number of cases, instead of reading every case.
//
// Each script that writes a case (raise-alert, update-case) also writes the case's index entry, in
// the same atomic step (lua/includes/case-index.lua): the sorted sets and sets it is in and the
// counters it adds to. The entry is computed here, from the case; Lua only adds and removes what
// entries list, undoing the entry it stored before. Keys are `<cases index>:<suffix>`:
//   p:<group>   ZSET (score 0) queue order (priority), member `<priority key>|<case id>`
//   o:<group>   ZSET case id → openedAt (ms)        u:<group>  ZSET case id → updatedAt (ms)
//   d:<sev>     ZSET active case id → severitySince (ms): overdue = older than the pack's due hours
//   r:<rule> v:<severity> as:<assignee> na t:<tenant>  SETs of case ids (filters)
// where a group is a status, `active` or `closed`, and `all`.
import { createHash } from 'node:crypto';
import { isClosed, SEVERITIES, type Case, type CaseStatus, type Severity } from '@flopwatch/contracts';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';

/** Bumped when the entry's shape changes: a store at another version is re-indexed at startup. */
export const CASE_INDEX_VERSION = '1';

/** What a case is filtered and sorted by, kept in its entry so a page reads no case it does not show. */
export interface CaseFacets {
  /** status, severity, rule, assignee */
  s: CaseStatus;
  v: Severity;
  r: string;
  a: string | null;
  /** the case's tenant(s): its tenants, and its subject for a tenant-scoped case */
  t: string[];
  /** openedAt, updatedAt, severitySince (ms) */
  o: number;
  u: number;
  ss: number;
  /** priority key: severity (highest first), projected crossing (soonest first, none last), openedAt, id */
  p: string;
}

/** A case's index entry, as lua/includes/case-index.lua reads it. */
export interface CaseIndexEntry {
  id: string;
  /** [suffix, score, member] of each sorted set (scores as decimal strings: Lua keeps them exact). */
  z: [string, string, string][];
  /** Suffixes of the sets holding the id. */
  m: string[];
  /** Counter fields the case adds 1 to. */
  c: string[];
  f: CaseFacets;
}

/** `status` of a queue query: a status, `active` (open, acknowledged, escalated) or `all`. */
export type CaseGroup = CaseStatus | 'active' | 'all';
export type CaseSort = 'priority' | 'opened' | 'updated';

export interface CaseQueueQuery {
  status: CaseGroup;
  rule?: string;
  severity?: Severity;
  /** `none` for unassigned cases. */
  assignee?: string;
  /** The case's tenant or a contributing tenant. */
  tenant?: string;
  overdue?: boolean;
  sort: CaseSort;
  limit: number;
  now: Date;
  /** How long a case of each severity may stay active (the pack's cases.dueHours, in ms). */
  dueMs: Record<Severity, number>;
}

/** Counts over every case, from the counters (status, active by severity, unassigned) and due times. */
export interface CaseCounts {
  byStatus: Partial<Record<CaseStatus, number>>;
  activeBySeverity: Partial<Record<Severity, number>>;
  overdueBySeverity: Record<Severity, number>;
  unassigned: number;
}

const pad = (n: number) => String(Math.max(0, Math.min(Math.trunc(n), 999_999_999_999_999))).padStart(15, '0');
const NO_CROSSING = 999_999_999_999_999;

/** The queue's order as a string (severity highest first, projected crossing soonest first, then oldest, then id). */
export function priorityKey(c: Pick<Case, 'id' | 'severity' | 'projectedCrossingAt' | 'openedAt'>): string {
  const rank = SEVERITIES.length - 1 - SEVERITIES.indexOf(c.severity);
  const crossing = c.projectedCrossingAt ? Date.parse(c.projectedCrossingAt) : NO_CROSSING;
  return `${rank}${pad(crossing)}${pad(Date.parse(c.openedAt))}|${c.id}`;
}

export function caseFacets(c: Case): CaseFacets {
  const tenants = c.scope === 'tenant' && !c.tenants.includes(c.subject) ? [...c.tenants, c.subject] : c.tenants;
  return {
    s: c.status, v: c.severity, r: c.rule, a: c.assignee, t: tenants,
    o: Date.parse(c.openedAt), u: Date.parse(c.updatedAt), ss: Date.parse(c.severitySince), p: priorityKey(c),
  };
}

/** The index entry of a case as it is written. */
export function caseIndexEntry(c: Case): CaseIndexEntry {
  const f = caseFacets(c);
  const active = !isClosed(c.status);
  const z: CaseIndexEntry['z'] = [];
  for (const g of [c.status, active ? 'active' : 'closed', 'all']) {
    z.push([`p:${g}`, '0', f.p], [`o:${g}`, String(f.o), c.id], [`u:${g}`, String(f.u), c.id]);
  }
  if (active) z.push([`d:${c.severity}`, String(f.ss), c.id]);
  const m = [`r:${c.rule}`, `v:${c.severity}`, c.assignee === null ? 'na' : `as:${c.assignee}`, ...f.t.map((t) => `t:${t}`)];
  const counters = [`s:${c.status}`, ...(active ? [`a:${c.severity}`, ...(c.assignee === null ? ['unassigned'] : [])] : [])];
  return { id: c.id, z, m, c: counters, f };
}

/** True when the facets pass every filter of the query. */
export function facetsMatch(f: CaseFacets, q: Omit<CaseQueueQuery, 'sort' | 'limit'>): boolean {
  const active = !isClosed(f.s);
  return (q.status === 'all' || (q.status === 'active' ? active : f.s === q.status)) &&
    (q.rule === undefined || f.r === q.rule) &&
    (q.severity === undefined || f.v === q.severity) &&
    (q.assignee === undefined || (q.assignee === 'none' ? f.a === null : f.a === q.assignee)) &&
    (q.tenant === undefined || f.t.includes(q.tenant)) &&
    (q.overdue === undefined || q.overdue === (active && q.now.getTime() > f.ss + q.dueMs[f.v]));
}

// Below this many matches, a filtered page reads the matching ids at once and sorts their entries;
// above, it walks the queue order checking membership (dense matches fill a page within a chunk or two).
const SMALL = 1_000;
const CHUNK = 500;
const WALK = 1_000;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const idOf = (member: string) => member.slice(member.lastIndexOf('|') + 1);

/** Reads of the queue indexes; the writes are the case scripts' (and migrate's). */
export function createCaseIndex({ redis, keys }: { redis: RedisClient; keys: Keys }) {
  const key = (suffix: string) => `${keys.cases.index}:${suffix}`;

  async function facets(ids: string[]): Promise<(CaseFacets | null)[]> {
    if (ids.length === 0) return [];
    const raws = await redis.hmget(keys.cases.entries, ...ids);
    return raws.map((r) => (r === null ? null : (JSON.parse(r) as CaseIndexEntry).f));
  }

  /** Ids in queue order from `offset` (one read). */
  async function ordered(q: CaseQueueQuery, offset: number, count: number): Promise<string[]> {
    if (q.sort === 'priority') return (await redis.zrange(key(`p:${q.status}`), offset, offset + count - 1)).map(idOf);
    return redis.zrevrange(key(`${q.sort === 'opened' ? 'o' : 'u'}:${q.status}`), offset, offset + count - 1);
  }

  /** Sorts ids with their facets in queue order (the order of the sorted sets `ordered` reads). */
  function sortFacets(rows: { id: string; f: CaseFacets }[], sort: CaseSort) {
    if (sort === 'priority') return rows.sort((a, b) => (a.f.p < b.f.p ? -1 : a.f.p > b.f.p ? 1 : 0));
    const at = (f: CaseFacets) => (sort === 'opened' ? f.o : f.u);
    return rows.sort((a, b) => at(b.f) - at(a.f) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  /**
   * Which of `ids` pass the filters, by membership alone (no entry read): the filter sets, and for
   * `overdue` the due-time sets (an active case's severitySince by severity).
   */
  async function passing(q: CaseQueueQuery, sets: string[], ids: string[]): Promise<boolean[]> {
    const severities = q.overdue === undefined ? [] : q.severity ? [q.severity] : SEVERITIES;
    const [members, due] = await Promise.all([
      Promise.all(sets.map((k) => redis.smismember(k, ...ids))),
      Promise.all(severities.map((s) => redis.zmscore(key(`d:${s}`), ...ids))),
    ]);
    const overdue = (j: number) => severities.some((s, k) => {
      const since = due[k]![j];
      return since !== null && since !== undefined && Number(since) < q.now.getTime() - q.dueMs[s];
    });
    return ids.map((_, j) => members.every((m) => m[j] === 1) && (q.overdue === undefined || q.overdue === overdue(j)));
  }

  /** Walks the queue order of the query's status, checking membership, until `limit` match. */
  async function walk(q: CaseQueueQuery, sets: string[]): Promise<string[]> {
    const out: string[] = [];
    for (let offset = 0; ; offset += WALK) {
      const ids = await ordered(q, offset, WALK);
      if (ids.length === 0) return out;
      for (const [i, ok] of (await passing(q, sets, ids)).entries()) {
        if (ok) out.push(ids[i]!);
        if (out.length === q.limit) return out;
      }
      if (ids.length < WALK) return out;
    }
  }

  /** Matching ids among `ids`, in queue order. */
  async function matching(q: CaseQueueQuery, ids: string[]): Promise<string[]> {
    const rows: { id: string; f: CaseFacets }[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      for (const [j, f] of (await facets(chunk)).entries()) if (f && facetsMatch(f, q)) rows.push({ id: chunk[j]!, f });
    }
    return sortFacets(rows, q.sort).map((r) => r.id);
  }

  /** Active cases past their due time: ids of the severity given, or of every severity. */
  async function overdueIds(q: CaseQueueQuery): Promise<string[]> {
    const severities = q.severity ? [q.severity] : SEVERITIES;
    const lists = await Promise.all(severities.map((s) => redis.zrangebyscore(key(`d:${s}`), '-inf', `(${q.now.getTime() - q.dueMs[s]}`)));
    return lists.flat();
  }

  /**
   * The overdue cases that pass the other filters, by membership of the status's sorted set and the
   * filter sets (ids only: no entry is read), so counting them costs the same whatever they hold.
   */
  async function overdueMatching(q: CaseQueueQuery, sets: string[]): Promise<string[]> {
    const ids = await overdueIds(q);
    // Every overdue case is active: only a single status narrows them. Severity was applied above.
    const checks = [...(q.status === 'active' || q.status === 'all' ? [] : [{ zset: true, key: key(`o:${q.status}`) }]),
      ...sets.filter((s) => s !== key(`v:${q.severity}`)).map((k) => ({ zset: false, key: k }))];
    if (checks.length === 0) return ids;
    const out: string[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const replies = await Promise.all(checks.map((c) => (c.zset ? redis.zmscore(c.key, ...chunk) : redis.smismember(c.key, ...chunk))));
      for (const [j, id] of chunk.entries()) if (replies.every((r) => r[j] !== null && r[j] !== 0)) out.push(id);
    }
    return out;
  }

  /** One page of the cases matching `q`, `candidates` among them: sorted by their entries when few, else by walking the queue order. */
  async function pageOf(q: CaseQueueQuery, sets: string[], candidates: () => Promise<string[]>, total: number): Promise<string[]> {
    return total <= SMALL ? (await matching(q, await candidates())).slice(0, q.limit) : walk(q, sets);
  }

  return {
    /** One page of the queue (case ids in order) and how many cases match in all. */
    async queue(q: CaseQueueQuery): Promise<{ ids: string[]; total: number }> {
      const sets = [
        q.rule === undefined ? null : `r:${q.rule}`,
        q.severity === undefined ? null : `v:${q.severity}`,
        q.assignee === undefined ? null : q.assignee === 'none' ? 'na' : `as:${q.assignee}`,
        q.tenant === undefined ? null : `t:${q.tenant}`,
      ].filter((s): s is string => s !== null).map(key);
      const base = key(`o:${q.status}`);
      const count = () => (sets.length === 0 ? redis.zcard(base) : redis.zintercard(1 + sets.length, base, ...sets));
      // Without other filters, every overdue case counts: the due-time sets count them (ZCOUNT).
      const overdueCount = async () => (sets.length === 0 && (q.status === 'active' || q.status === 'all')
        ? (await Promise.all(SEVERITIES.map((s) => redis.zcount(key(`d:${s}`), '-inf', `(${q.now.getTime() - q.dueMs[s]}`)))).reduce((a, n) => a + n, 0)
        : (await overdueMatching(q, sets)).length);
      if (q.overdue === true) {
        const total = await overdueCount();
        return { ids: await pageOf(q, sets, () => overdueMatching(q, sets), total), total };
      }
      if (q.overdue === false) {
        const [all, overdue] = await Promise.all([count(), overdueCount()]);
        return { ids: await walk(q, sets), total: all - overdue };
      }
      const total = await count();
      if (sets.length === 0) return { ids: await ordered(q, 0, q.limit), total };
      return { ids: await pageOf(q, sets, () => redis.zinter(1 + sets.length, base, ...sets), total), total };
    },

    /** Counts over every case. */
    async counts(now: Date, dueMs: Record<Severity, number>): Promise<CaseCounts> {
      const [fields, overdue] = await Promise.all([
        redis.hgetall(keys.cases.counts),
        Promise.all(SEVERITIES.map((s) => redis.zcount(key(`d:${s}`), '-inf', `(${now.getTime() - dueMs[s]}`))),
      ]);
      const out: CaseCounts = { byStatus: {}, activeBySeverity: {}, overdueBySeverity: {} as Record<Severity, number>, unassigned: Number(fields.unassigned ?? 0) };
      for (const [field, value] of Object.entries(fields)) {
        const n = Number(value);
        if (n <= 0) continue;
        if (field.startsWith('s:')) out.byStatus[field.slice(2) as CaseStatus] = n;
        else if (field.startsWith('a:')) out.activeBySeverity[field.slice(2) as Severity] = n;
      }
      for (const [i, s] of SEVERITIES.entries()) out.overdueBySeverity[s] = overdue[i]!;
      return out;
    },

    /** Facets of these cases (null for a case without an entry), in the order given. */
    facets,

    /**
     * Indexes every case of a store written before the indexes existed (or at another version), then
     * marks the store; a no-op once marked. Safe beside writers: a case changed meanwhile was
     * indexed by its writer and is skipped here. Returns how many cases it indexed.
     */
    async migrate(): Promise<number> {
      if ((await redis.get(keys.cases.indexed)) === CASE_INDEX_VERSION) return 0;
      const scripts = defineScripts(redis);
      let indexed = 0;
      for (let offset = 0; ; offset += CHUNK) {
        const ids = await redis.zrange(keys.cases.index, offset, offset + CHUNK - 1);
        if (ids.length === 0) break;
        const texts = await redis.mget(...ids.map((id) => keys.cases.record(id)));
        const replies = await Promise.all(texts.map((text) => {
          if (text === null) return 'noop' as const;
          const entry = caseIndexEntry(JSON.parse(text) as Case);
          return scripts.indexCase({
            keys: { case: keys.cases.record(entry.id), caseIndex: keys.cases.index, caseEntries: keys.cases.entries, caseCounts: keys.cases.counts },
            args: { version: sha1(text), caseIndexEntry: JSON.stringify(entry) },
          });
        }));
        indexed += replies.filter((r) => r === 'done').length;
        if (ids.length < CHUNK) break;
      }
      await redis.set(keys.cases.indexed, CASE_INDEX_VERSION);
      return indexed;
    },
  };
}

export type CaseIndex = ReturnType<typeof createCaseIndex>;
