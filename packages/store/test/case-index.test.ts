import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { caseId, isClosed, SEVERITIES, type Alert, type Case, type CaseStatus, type Severity } from '@flopwatch/contracts';
import { dropPrefix, freshPrefix, redisUrl } from '@flopwatch/test-harness';
import { createKeys, createStore, type CaseQueueQuery, type Keys, type Store } from '../src/index.js';
import { makeAlert } from './alert-fixture.js';

const redis = new Redis(redisUrl());
const prefixes: string[] = [];
let store: Store;
let keys: Keys;
let prefix: string;
beforeEach(() => {
  prefix = freshPrefix('case-index');
  prefixes.push(prefix);
  store = createStore({ redis, prefix });
  keys = createKeys(prefix);
});
afterAll(async () => {
  await dropPrefix(redis, ...prefixes);
  redis.disconnect();
});

const NOW = new Date('2026-11-20T12:00:00Z');
const HOUR = 3_600_000;
const dueMs = Object.fromEntries(SEVERITIES.map((s, i) => [s, (5 - i) * 24 * HOUR])) as Record<Severity, number>;

/** A small deterministic generator (the same cases every run). */
function lcg(seed: number) {
  let x = seed;
  return (n: number) => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x % n;
  };
}

/** 160 cases of two rules with random severities, crossings, statuses and assignees; returns them as stored. */
async function makeCases(): Promise<Case[]> {
  const rnd = lcg(42);
  const ids: string[] = [];
  await Promise.all(Array.from({ length: 160 }, (_, i) => {
    const group = i % 3 === 0;
    const alert = makeAlert({
      rule: group ? 'structuring' : 'tenant-approach', scope: group ? 'group' : 'tenant', subject: group ? `g-${i}` : `t-${i}`,
      severity: SEVERITIES[rnd(SEVERITIES.length)]!, level: 0.5,
      raisedAt: new Date(NOW.getTime() - rnd(400) * HOUR - (i % 5 === 0 ? 0 : rnd(1000))).toISOString(),
      projectedCrossingAt: rnd(3) === 0 ? new Date(NOW.getTime() + rnd(50) * HOUR).toISOString() : null,
    });
    ids.push(caseId(alert));
    return store.alerts.raise(alert);
  }));
  const statuses: CaseStatus[] = ['open', 'acknowledged', 'escalated', 'resolved', 'false_positive'];
  const assignees = [null, null, 'alice', 'bob'];
  await Promise.all(ids.map((id, i) => store.casebook.update(id, (c) => ({
    next: { ...c, status: statuses[rnd(statuses.length)]!, assignee: assignees[rnd(assignees.length)]!, updatedAt: new Date(NOW.getTime() - rnd(100) * HOUR - i).toISOString() },
    audit: { actor: 'alice', action: 'case.test', before: null, after: null },
  }))));
  const texts = await redis.mget(...ids.map((id) => keys.cases.record(id)));
  return texts.map((t) => JSON.parse(t!) as Case);
}

/** The queue as a full read of the cases answers it (the test's own filter and order). */
function expected(cases: Case[], q: CaseQueueQuery) {
  const rank = (s: Severity) => SEVERITIES.indexOf(s);
  const ms = (t: string | null) => (t === null ? Infinity : Date.parse(t));
  const overdue = (c: Case) => !isClosed(c.status) && q.now.getTime() > Date.parse(c.severitySince) + q.dueMs[c.severity];
  const matched = cases.filter((c) =>
    (q.status === 'all' || (q.status === 'active' ? !isClosed(c.status) : c.status === q.status)) &&
    (q.rule === undefined || c.rule === q.rule) && (q.severity === undefined || c.severity === q.severity) &&
    (q.assignee === undefined || (q.assignee === 'none' ? c.assignee === null : c.assignee === q.assignee)) &&
    (q.tenant === undefined || c.tenants.includes(q.tenant) || (c.scope === 'tenant' && c.subject === q.tenant)) &&
    (q.overdue === undefined || overdue(c) === q.overdue));
  const byId = (a: Case, b: Case) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const order = q.sort === 'priority'
    ? (a: Case, b: Case) => rank(b.severity) - rank(a.severity) || ms(a.projectedCrossingAt) - ms(b.projectedCrossingAt) || ms(a.openedAt) - ms(b.openedAt) || byId(a, b)
    : q.sort === 'opened' ? (a: Case, b: Case) => ms(b.openedAt) - ms(a.openedAt) || byId(b, a) : (a: Case, b: Case) => ms(b.updatedAt) - ms(a.updatedAt) || byId(b, a);
  return { ids: matched.sort(order).slice(0, q.limit).map((c) => c.id), total: matched.length };
}

const FILTERS: Partial<CaseQueueQuery>[] = [
  {}, { rule: 'structuring' }, { severity: 'high' }, { assignee: 'alice' }, { assignee: 'none' }, { tenant: 't-7' }, { tenant: 'shell-01' },
  { overdue: true }, { overdue: false }, { severity: 'medium', assignee: 'none' }, { rule: 'tenant-approach', overdue: true, assignee: 'bob' },
  { overdue: false, assignee: 'alice' }, { overdue: false, severity: 'high' },
];
const queries = (): CaseQueueQuery[] =>
  (['active', 'all', 'open', 'resolved'] as const).flatMap((status) => (['priority', 'opened', 'updated'] as const).flatMap((sort) =>
    FILTERS.flatMap((f) => [7, 1000].map((limit) => ({ status, sort, limit, now: NOW, dueMs, ...f })))));

describe('the case queue indexes', () => {
  it('answer every filter and order as a full read of the cases does, and count every case', async () => {
    const cases = await makeCases();
    const answers = [];
    for (const q of queries()) {
      const answer = await store.caseIndex.queue(q);
      expect(answer, JSON.stringify({ ...q, now: undefined, dueMs: undefined })).toEqual(expected(cases, q));
      answers.push(answer);
    }
    // Not vacuous: most queries match some cases, and a limit of 7 cuts many of them.
    expect(answers.filter((a) => a.total > 0).length).toBeGreaterThan(answers.length * 0.6);
    expect(answers.filter((a) => a.total > 7 && a.ids.length === 7).length).toBeGreaterThan(answers.length * 0.25);
    const counts = await store.caseIndex.counts(NOW, dueMs);
    const active = cases.filter((c) => !isClosed(c.status));
    const tally = <K extends string>(xs: K[]) => xs.reduce<Partial<Record<K, number>>>((acc, x) => ({ ...acc, [x]: (acc[x] ?? 0) + 1 }), {});
    expect(counts).toEqual({
      byStatus: tally(cases.map((c) => c.status)),
      activeBySeverity: tally(active.map((c) => c.severity)),
      overdueBySeverity: Object.fromEntries(SEVERITIES.map((s) => [s, active.filter((c) => c.severity === s && NOW.getTime() > Date.parse(c.severitySince) + dueMs[s]).length])),
      unassigned: active.filter((c) => c.assignee === null).length,
    });
  });

  it('are built for a store written before them, once, and then answer as if they had always been kept', async () => {
    const cases = await makeCases();
    const before = await Promise.all(queries().map((q) => store.caseIndex.queue(q)));
    const counts = await store.caseIndex.counts(NOW, dueMs);
    // A store as the earlier version left it: cases and their opening index only.
    const derived = await redis.keys(`${keys.cases.index}:*`);
    expect(derived).toContain(keys.cases.entries);
    await redis.del(...derived);
    expect((await store.caseIndex.queue({ status: 'all', sort: 'priority', limit: 10, now: NOW, dueMs })).total).toBe(0);

    expect(await store.caseIndex.migrate()).toBe(cases.length);
    expect(await Promise.all(queries().map((q) => store.caseIndex.queue(q)))).toEqual(before);
    expect(await store.caseIndex.counts(NOW, dueMs)).toEqual(counts);
    expect(await store.caseIndex.migrate()).toBe(0);
  });

  it('scan() reads every case, oldest first, past any number of ties on the opening time', async () => {
    // 1,200 cases opened in the same millisecond (more than a chunk of the index): each exactly once.
    const at = NOW.toISOString();
    await Promise.all(Array.from({ length: 1200 }, (_, i) => store.alerts.raise(makeAlert({ subject: `tie-${i}`, raisedAt: at }))));
    await store.alerts.raise(makeAlert({ subject: 'last', raisedAt: new Date(NOW.getTime() + 1).toISOString() }));
    const seen: string[] = [];
    for await (const c of store.casebook.scan()) seen.push(c.subject);
    expect(seen).toHaveLength(1201);
    expect(new Set(seen).size).toBe(1201);
    expect(seen.at(-1)).toBe('last');
    const assigned: string[] = [];
    for await (const c of store.casebook.scan({ assignee: 'none', updatedSince: new Date(NOW.getTime() + 1) })) assigned.push(c.subject);
    expect(assigned).toEqual(['last']);
  });
});

describe('the case queue indexes under case moves', () => {
  it('follow a case moved with its alerts (the alert route, the case route, the sweep): its status queue and the counts', async () => {
    // Cases of two alerts (levels 0.5 and 0.8) and one of one alert, raised as the ingest raises them.
    const raised = new Map<string, string[]>();
    for (const subject of ['ack-by-alert', 'closed-by-alerts', 'escalated-by-case', 'repaired', 'untouched']) {
      const levels = subject === 'repaired' ? [0.5] : [0.5, 0.8];
      const alerts = levels.map((level, i) => makeAlert({ subject, level, raisedAt: new Date(NOW.getTime() - (10 - i) * HOUR).toISOString() }));
      for (const a of alerts) await store.alerts.raise(a);
      raised.set(subject, alerts.map((a) => a.id));
    }
    const id = (subject: string) => caseId(makeAlert({ subject }));
    const alertsOf = (subject: string) => raised.get(subject)!;
    const by = { actor: 'alice', at: NOW };
    // The alert route: acknowledging one alert acknowledges its case; closing both alerts closes theirs.
    await store.caseMoves.moveAlert(alertsOf('ack-by-alert')[0]!, 'acknowledge', by);
    await store.caseMoves.moveAlert(alertsOf('closed-by-alerts')[0]!, 'resolve', by);
    await store.caseMoves.moveAlert(alertsOf('closed-by-alerts')[1]!, 'resolve', by);
    // The case route.
    await store.caseMoves.moveCase(id('escalated-by-case'), 'escalate', by);
    // The sweep: an alert closed on its own (as an older version left it) closes its case.
    const only = alertsOf('repaired')[0]!;
    const text = (await redis.get(keys.alerts.record(only)))!;
    const alert = JSON.parse(text) as Alert;
    expect(await store.cases.replace(only, text, { ...alert, status: 'false_positive', history: [...alert.history, { at: NOW.toISOString(), action: 'mark_false_positive', from: 'open', to: 'false_positive', actor: 'bob', note: 'test' }] })).toBe('replaced');
    expect(await store.caseMoves.reconcile(id('repaired'))).toBe(1);

    const want: Record<string, CaseStatus> = { 'ack-by-alert': 'acknowledged', 'closed-by-alerts': 'resolved', 'escalated-by-case': 'escalated', repaired: 'false_positive', untouched: 'open' };
    const texts = await redis.mget(...Object.keys(want).map((s) => keys.cases.record(id(s))));
    const cases = texts.map((t) => JSON.parse(t!) as Case);
    expect(Object.fromEntries(cases.map((c) => [c.subject, c.status]))).toEqual(want);
    for (const [subject, status] of Object.entries(want)) {
      // Each case is in its own status's queue, and in no other's.
      for (const s of ['open', 'acknowledged', 'escalated', 'resolved', 'false_positive'] as const) {
        const { ids } = await store.caseIndex.queue({ status: s, sort: 'priority', limit: 100, now: NOW, dueMs });
        expect(ids.includes(id(subject)), `${subject} in ${s}`).toBe(s === status);
      }
    }
    for (const q of queries()) expect(await store.caseIndex.queue(q), JSON.stringify({ ...q, now: undefined, dueMs: undefined })).toEqual(expected(cases, q));
    const counts = await store.caseIndex.counts(NOW, dueMs);
    expect(counts.byStatus).toEqual({ open: 1, acknowledged: 1, escalated: 1, resolved: 1, false_positive: 1 });
    // Three active cases of medium severity (the fixture's), none assigned.
    expect(counts.activeBySeverity).toEqual({ medium: 3 });
    expect(counts.unassigned).toBe(3);
    // Built from scratch, the indexes say the same: the moves left nothing behind.
    const before = await Promise.all(queries().map((q) => store.caseIndex.queue(q)));
    await redis.del(...(await redis.keys(`${keys.cases.index}:*`)));
    expect(await store.caseIndex.migrate()).toBe(5);
    expect(await Promise.all(queries().map((q) => store.caseIndex.queue(q)))).toEqual(before);
    expect(await store.caseIndex.counts(NOW, dueMs)).toEqual(counts);
  });
});

describe('the audit entries of a case', () => {
  it('are listed as they are sealed, and built once for entries sealed before the lists existed', async () => {
    const alert = makeAlert({ subject: 'g-audit', raisedAt: NOW.toISOString() });
    await store.alerts.raise(alert);
    const id = caseId(alert);
    await store.casebook.update(id, (c) => ({ next: { ...c, assignee: 'alice' }, audit: { actor: 'alice', action: 'case.assign', before: null, after: null } }));
    await store.audit.append({ actor: 'root', action: 'tenant.put', object: 'tenant:x', before: null, after: null });
    const listed = await store.audit.caseEntries(id);
    expect(listed.entries.map((e) => [e.seq, e.action])).toEqual([[2, 'case.assign'], [1, 'case.open']]);

    await redis.del(keys.audit.caseEntries(id));
    expect((await store.audit.caseEntries(id)).entries).toEqual([]);
    await redis.del(keys.audit.casesIndexed);
    expect(await store.audit.indexCases()).toBe(2);
    expect(await store.audit.caseEntries(id)).toEqual(listed);
    expect(await store.audit.indexCases()).toBe(0);
  });
});
