import { afterEach, describe, expect, it } from 'vitest';
import { caseId, MAX_CASE_COMMENTS, MAX_CASE_HISTORY, SEVERITIES, type Case, type Severity } from '@flopwatch/contracts';
import { createKeys } from '@flopwatch/store';
import { auth, raiseAlert, startApi, type TestApi } from './helpers.js';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
let api: TestApi;
afterEach(async () => api?.close());

const get = (url: string, role: 'analyst' | 'viewer' = 'viewer') => api.app.inject({ url, headers: auth(role) });
const post = (url: string, payload: object) => api.app.inject({ method: 'POST', url, headers: auth('analyst'), payload });
const tenantCase = (subject: string) => caseId({ rule: 'tenant-approach', scope: 'tenant', subject });
const subjects = (body: { cases: { subject: string }[] }) => body.cases.map((c) => c.subject);

interface Made {
  subject: string;
  severity: Severity;
  raisedAt: number;
  crossing: number | null;
}

describe('the case queue at scale', () => {
  it('keeps the newest of 25,000 cases in the queue, the counts, the gauges and the export', { timeout: 300_000 }, async () => {
    api = await startApi({ now: () => new Date(NOW) });
    const N = 25_000;
    // One case per subject; raised a second apart, the last one newest. Severities cycle; every
    // seventh has a projected crossing (the queue's second key).
    const made: Made[] = Array.from({ length: N }, (_, i) => ({
      subject: `s-${String(i).padStart(5, '0')}`,
      severity: (['low', 'medium', 'high', 'critical'] as const)[i % 4]!,
      raisedAt: NOW - (N - i) * 1000,
      crossing: i % 7 === 0 ? NOW + ((i * 7919) % 1000) * HOUR : null,
    }));
    for (let i = 0; i < N; i += 500) {
      await Promise.all(made.slice(i, i + 500).map((m) => raiseAlert(api.store, {
        subject: m.subject, severity: m.severity, raisedAt: iso(m.raisedAt), projectedCrossingAt: m.crossing === null ? null : iso(m.crossing),
      })));
    }
    const newest = made.at(-1)!;

    // The queue: the newest first when sorted by opening; the order of priority as the test computes it.
    const opened = (await get('/v1/cases?sort=opened&limit=3')).json();
    expect(subjects(opened)).toEqual(made.slice(-3).reverse().map((m) => m.subject));
    expect(opened.total).toBe(N);
    const rank = (s: Severity) => SEVERITIES.indexOf(s);
    const byPriority = [...made].sort((a, b) => rank(b.severity) - rank(a.severity) || (a.crossing ?? Infinity) - (b.crossing ?? Infinity) || a.raisedAt - b.raisedAt);
    expect(subjects((await get('/v1/cases?limit=300')).json())).toEqual(byPriority.slice(0, 300).map((m) => m.subject));
    expect(subjects((await get(`/v1/cases?tenant=${newest.subject}`)).json())).toEqual([newest.subject]);

    // A filter matching thousands: the newest high cases, and how many there are.
    const highs = made.filter((m) => m.severity === 'high');
    const high = (await get('/v1/cases?severity=high&sort=opened&limit=50')).json();
    expect(high.total).toBe(highs.length);
    expect(subjects(high)).toEqual(highs.slice(-50).reverse().map((m) => m.subject));

    // The counts, over every case.
    const dueHours = api.pack.cases.dueHours;
    const overdue = made.filter((m) => NOW > m.raisedAt + dueHours[m.severity] * HOUR).length;
    const bySeverity = Object.fromEntries((['low', 'medium', 'high', 'critical'] as const).map((s) => [s, made.filter((m) => m.severity === s).length]));
    expect(opened.counts).toEqual({ active: N, byStatus: { open: N }, activeBySeverity: bySeverity, overdue, unassigned: N });
    const overduePage = (await get('/v1/cases?overdue=true&limit=1')).json();
    expect(overduePage.total).toBe(overdue);

    // Resolving the newest moves it between the counters, the gauges and the queue at once.
    expect((await post(`/v1/cases/${tenantCase(newest.subject)}/transitions`, { action: 'resolve', note: 'cleared' })).statusCode).toBe(200);
    const after = (await get('/v1/cases?status=resolved')).json();
    expect(subjects(after)).toEqual([newest.subject]);
    expect(after.counts).toMatchObject({ active: N - 1, byStatus: { open: N - 1, resolved: 1 }, unassigned: N - 1 });
    const metrics = (await api.app.inject({ url: '/metrics' })).body;
    expect(metrics).toContain(`flopwatch_cases{status="open"} ${N - 1}`);
    expect(metrics).toContain('flopwatch_cases{status="resolved"} 1');

    // The export walks every case, oldest first: all 25,000 rows, the newest last.
    const csv = (await get('/v1/cases/export?format=csv', 'analyst')).body.split('\r\n').filter((r) => r.length > 0);
    expect(csv).toHaveLength(N + 1);
    expect(csv.at(-1)!.startsWith(`${tenantCase(newest.subject)},tenant-approach,tenant,${newest.subject},resolved,`)).toBe(true);
    // Updated since a minute before "now": the cases raised in its last 60 seconds.
    const recent = (await get(`/v1/cases/export?since=${iso(NOW - 60_000)}`, 'analyst')).body.trim().split('\n').map((l) => (JSON.parse(l) as Case).subject);
    expect(recent).toEqual(made.filter((m) => m.raisedAt >= NOW - 60_000).map((m) => m.subject));
  });
});

describe('the case export', () => {
  it('streams past the request timeout (a large export is never cut off in the middle)', { timeout: 120_000 }, async () => {
    // A 1 ms request timeout: every export of 2,000 cases outlasts it.
    api = await startApi({ now: () => new Date(NOW), limits: { requestTimeoutMs: 1 } });
    const N = 2_000;
    for (let i = 0; i < N; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => raiseAlert(api.store, { subject: `e-${i + j}`, raisedAt: iso(NOW - (N - i - j) * 1000) })));
    }
    const res = await get('/v1/cases/export?format=csv', 'analyst');
    expect(res.statusCode).toBe(200);
    const rows = res.body.split('\r\n').filter((r) => r.length > 0);
    expect(rows).toHaveLength(N + 1);
    expect(rows.at(-1)!.startsWith(`${tenantCase(`e-${N - 1}`)},`)).toBe(true);
  });
});

describe('a case page', () => {
  it('shows every audit entry of the case, however many entries of other records the log holds', { timeout: 120_000 }, async () => {
    api = await startApi({ now: () => new Date(NOW) });
    await raiseAlert(api.store, { subject: 'kept', raisedAt: iso(NOW - HOUR) });
    const id = tenantCase('kept');
    for (const text of ['first', 'second']) expect((await post(`/v1/cases/${id}/comments`, { text })).statusCode).toBe(200);
    // 12,000 entries of other records after them (more than a page of the whole log ever read).
    for (let i = 0; i < 12_000; i += 1000) {
      await Promise.all(Array.from({ length: 1000 }, (_, j) => api.store.audit.append({ actor: 'root', action: 'tenant.put', object: `tenant:t${i + j}`, before: null, after: null })));
    }
    expect((await post(`/v1/cases/${id}/transitions`, { action: 'acknowledge' })).statusCode).toBe(200);
    const page = (await get(`/v1/cases/${id}`)).json();
    expect(page.audit.map((e: { action: string; note?: string }) => [e.action, e.note ?? null])).toEqual([
      ['case.acknowledge', null], ['case.comment', 'second'], ['case.comment', 'first'], ['case.open', expect.stringContaining('alert')],
    ]);
    expect(page.audit.every((e: { object: string }) => e.object === `case:${id}`)).toBe(true);
  });
});

describe('a case\'s limits', () => {
  it('puts a case moved through its alert (POST /v1/alerts/:id/transitions) in its status queue, the counts and the gauges', async () => {
    api = await startApi({ now: () => new Date(NOW) });
    const names = ['a-ack', 'a-esc', 'a-res', 'a-open'];
    const alerts = await Promise.all(names.map((subject, i) => raiseAlert(api.store, { subject, raisedAt: iso(NOW - (i + 1) * HOUR) })));
    const moves: [number, string, string?][] = [[0, 'acknowledge'], [1, 'escalate'], [2, 'resolve', 'cleared']];
    for (const [i, action, note] of moves) {
      expect((await post(`/v1/alerts/${alerts[i]!.id}/transitions`, { action, ...(note ? { note } : {}) })).statusCode).toBe(200);
    }
    const queue = async (status: string) => subjects((await get(`/v1/cases?status=${status}`)).json());
    expect(await queue('open')).toEqual(['a-open']);
    expect(await queue('acknowledged')).toEqual(['a-ack']);
    expect(await queue('escalated')).toEqual(['a-esc']);
    expect(await queue('resolved')).toEqual(['a-res']);
    expect((await queue('active')).sort()).toEqual(['a-ack', 'a-esc', 'a-open']);
    const page = (await get('/v1/cases?status=all')).json();
    expect(page.total).toBe(names.length);
    expect(page.counts).toMatchObject({ active: 3, byStatus: { open: 1, acknowledged: 1, escalated: 1, resolved: 1 }, unassigned: 3 });
    const metrics = (await api.app.inject({ url: '/metrics' })).body;
    for (const status of ['open', 'acknowledged', 'escalated', 'resolved']) expect(metrics).toContain(`flopwatch_cases{status="${status}"} 1`);
  });

  it(`refuses comment ${MAX_CASE_COMMENTS + 1} with 409 LIMIT_REACHED and writes nothing`, async () => {
    api = await startApi({ now: () => new Date(NOW) });
    await raiseAlert(api.store, { subject: 'talky', raisedAt: iso(NOW - HOUR) });
    const id = tenantCase('talky');
    // Comments put in place directly (posting 500 would only take longer); then one more through the API.
    const key = createKeys(api.prefix).cases.record(id);
    const c = JSON.parse((await api.redis.get(key))!) as Case;
    const full = { ...c, comments: Array.from({ length: MAX_CASE_COMMENTS }, (_, i) => ({ id: `c${i}`, at: iso(NOW), actor: 'alice', text: `note ${i}` })) };
    await api.redis.set(key, JSON.stringify(full));
    const res = await post(`/v1/cases/${id}/comments`, { text: 'one too many' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'LIMIT_REACHED', details: { comments: MAX_CASE_COMMENTS, limit: MAX_CASE_COMMENTS } });
    expect(await api.redis.get(key)).toBe(JSON.stringify(full));
    // Other changes still go through.
    expect((await post(`/v1/cases/${id}/transitions`, { action: 'acknowledge' })).statusCode).toBe(200);
  });

  it(`keeps the newest ${MAX_CASE_HISTORY} history events and counts the ones that left`, async () => {
    api = await startApi({ now: () => new Date(NOW) });
    await raiseAlert(api.store, { subject: 'busy', raisedAt: iso(NOW - HOUR) });
    const id = tenantCase('busy');
    const key = createKeys(api.prefix).cases.record(id);
    const c = JSON.parse((await api.redis.get(key))!) as Case;
    const tag = (i: number) => ({ at: iso(NOW), action: 'tag' as const, actor: 'alice', from: 'open' as const, to: 'open' as const, note: `t${i}` });
    await api.redis.set(key, JSON.stringify({ ...c, history: [...c.history, ...Array.from({ length: MAX_CASE_HISTORY - 1 }, (_, i) => tag(i))] }));
    const first = (await post(`/v1/cases/${id}/assign`, { assignee: 'bob' })).json();
    expect(first.history).toHaveLength(MAX_CASE_HISTORY);
    expect(first.historyDropped).toBe(1);
    expect(first.history[0]).toMatchObject({ note: 't0' });
    expect(first.history.at(-1)).toMatchObject({ action: 'assign', assignee: 'bob' });
    const second = (await post(`/v1/cases/${id}/transitions`, { action: 'acknowledge' })).json();
    expect(second).toMatchObject({ historyDropped: 2, status: 'acknowledged' });
    expect(second.history[0]).toMatchObject({ note: 't1' });
  });
});
