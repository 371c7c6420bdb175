import { afterEach, describe, expect, it } from 'vitest';
import { caseId, caseSummary, type Alert, type Case } from '@flopwatch/contracts';
import { waitFor } from '@flopwatch/test-harness';
import type { UsageRecord } from '@flopwatch/store';
import { ACTOR, auth, raiseAlert, startApi, tenant, type TestApi } from './helpers.js';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
let api: TestApi;
afterEach(async () => api?.close());
const start = async (nowMs = NOW) => {
  api = await startApi({ now: () => new Date(nowMs) });
  return api;
};

const get = (url: string, role: 'analyst' | 'viewer' = 'viewer') => api.app.inject({ url, headers: auth(role) });
const post = (url: string, payload: object, role: 'analyst' | 'viewer' | 'admin' = 'analyst') => api.app.inject({ method: 'POST', url, headers: auth(role), payload });

/** A structuring alert of group `g` at `level`, with the severity the default pack gives it. */
const structuring = (g: string, level: number, severity: Alert['severity'], raisedAtMs: number, over: Partial<Alert> = {}) =>
  raiseAlert(api.store, { rule: 'structuring', scope: 'group', subject: g, level, severity, observedOperations: level * 1e26, kyc: null, raisedAt: iso(raisedAtMs), ...over });
const groupCase = (g: string) => caseId({ rule: 'structuring', scope: 'group', subject: g });

describe('the case queue', () => {
  it('groups every level of a subject into one case and sorts by severity, then projected crossing', async () => {
    await start();
    await structuring('g-1', 0.5, 'medium', NOW - 3 * HOUR);
    await structuring('g-1', 0.8, 'high', NOW - 2 * HOUR, { projectedCrossingAt: iso(NOW + 20 * DAY) });
    await raiseAlert(api.store, { subject: 't-soon', level: 0.8, severity: 'high', projectedCrossingAt: iso(NOW + 5 * DAY), raisedAt: iso(NOW - HOUR) });
    await raiseAlert(api.store, { subject: 't-low', level: 0.25, severity: 'low', raisedAt: iso(NOW - HOUR) });

    const res = await get('/v1/cases');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.cases.map((c: { subject: string }) => c.subject)).toEqual(['t-soon', 'g-1', 't-low']);
    expect(body.cases[1]).toMatchObject({ id: groupCase('g-1'), severity: 'high', level: 0.8, alertCount: 2, status: 'open', assignee: null });
    expect(body.total).toBe(3);
    expect(body.counts).toMatchObject({ active: 3, activeBySeverity: { high: 2, low: 1 }, unassigned: 3, overdue: 0 });

    expect((await get('/v1/cases?rule=structuring')).json().cases.map((c: { subject: string }) => c.subject)).toEqual(['g-1']);
    expect((await get('/v1/cases?severity=low')).json().cases.map((c: { subject: string }) => c.subject)).toEqual(['t-low']);
    expect((await get('/v1/cases?tenant=t-soon')).json().cases.map((c: { subject: string }) => c.subject)).toEqual(['t-soon']);
    expect((await get('/v1/cases?status=resolved')).json().cases).toEqual([]);
    expect((await get('/v1/cases?severity=urgent')).statusCode).toBe(400);
  });

  it('lets an analyst assign, comment and acknowledge, each in the history and the audit log', async () => {
    await start();
    await structuring('g-2', 0.5, 'medium', NOW - HOUR);
    const id = groupCase('g-2');
    const assigned = await post(`/v1/cases/${id}/assign`, { assignee: 'bob', note: 'yours' });
    expect(assigned.statusCode).toBe(200);
    expect(assigned.json().assignee).toBe('bob');
    expect((await post(`/v1/cases/${id}/comments`, { text: 'payment fingerprints shared by 16 accounts' })).json().comments).toEqual([
      expect.objectContaining({ actor: ACTOR.analyst, text: 'payment fingerprints shared by 16 accounts' }),
    ]);
    expect((await post(`/v1/cases/${id}/transitions`, { action: 'acknowledge', note: 'on it' })).json().status).toBe('acknowledged');
    const again = await post(`/v1/cases/${id}/transitions`, { action: 'acknowledge' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('CONFLICT');
    const noNote = await post(`/v1/cases/${id}/transitions`, { action: 'resolve' });
    expect(noNote.statusCode).toBe(400);
    expect(noNote.json().error.details.fields).toEqual(['body.note']);
    expect((await api.app.inject({ method: 'PUT', url: `/v1/cases/${id}/tags`, headers: auth('analyst'), payload: { tags: ['loophole', 'sg'] } })).json().tags).toEqual(['loophole', 'sg']);

    const detail = (await get(`/v1/cases/${id}`)).json();
    expect(detail.case.history.map((h: { action: string }) => h.action)).toEqual(['open', 'assign', 'comment', 'acknowledge', 'tag']);
    expect(detail.case.history[3]).toMatchObject({ actor: ACTOR.analyst, from: 'open', to: 'acknowledged', note: 'on it' });
    expect(detail.alerts).toHaveLength(1);
    expect(detail.audit.map((e: { action: string }) => e.action)).toEqual(['case.tag', 'case.acknowledge', 'case.comment', 'case.assign', 'case.open']);
    expect(detail.audit[1]).toMatchObject({ actor: ACTOR.analyst, before: { status: 'open' }, after: { status: 'acknowledged', assignee: 'bob' } });
    expect((await get('/v1/cases?assignee=bob')).json().cases).toHaveLength(1);
    expect((await get('/v1/cases?assignee=none')).json().cases).toHaveLength(0);
    expect((await post(`/v1/cases/${id}/comments`, { text: 'x' }, 'viewer')).statusCode).toBe(403);
    expect((await post('/v1/cases/cs_000000000000000000000000/comments', { text: 'x' })).statusCode).toBe(404);
  });

  it("moves the case's alerts with it, so webhooks and Alertmanager see the case closed", async () => {
    await start();
    const low = await structuring('g-6', 0.5, 'medium', NOW - 2 * HOUR);
    const high = await structuring('g-6', 0.8, 'high', NOW - HOUR);
    const id = groupCase('g-6');
    await post(`/v1/cases/${id}/transitions`, { action: 'acknowledge' });
    const status = async (alertId: string) => (await get(`/v1/alerts/${alertId}`)).json().status;
    expect([await status(low.id), await status(high.id)]).toEqual(['acknowledged', 'acknowledged']);
    await post(`/v1/cases/${id}/transitions`, { action: 'resolve', note: 'accounts closed' });
    expect([await status(low.id), await status(high.id)]).toEqual(['resolved', 'resolved']);
    const outbox = await api.redis.xrange(api.keys.alerts.outbox, '-', '+');
    expect(outbox.map(([, f]) => `${f[1] === low.id ? 'low' : 'high'} ${f[3]}`)).toEqual(['low alert.raised', 'high alert.raised', 'low alert.updated', 'high alert.updated', 'low alert.updated', 'high alert.updated']);
    const audit = (await get(`/v1/audit?object=alert:${high.id}`, 'analyst')).json().entries;
    expect(audit.map((e: { action: string; note: string }) => [e.action, e.note])).toEqual([['alert.resolve', `with case ${id}: accounts closed`], ['alert.acknowledge', `with case ${id}`]]);
    expect((await get('/v1/audit/verify', 'analyst')).json().ok).toBe(true);
  });

  it('moves the case from the alert route: escalating an alert escalates its case, resolving its last open alert resolves it', async () => {
    await start();
    const low = await structuring('g-7', 0.5, 'medium', NOW - 2 * HOUR);
    const high = await structuring('g-7', 0.8, 'high', NOW - HOUR);
    const id = groupCase('g-7');
    const caseStatus = async () => (await get(`/v1/cases/${id}`)).json().case.status;
    expect((await post(`/v1/alerts/${low.id}/transitions`, { action: 'escalate', note: 'shared card' })).json().status).toBe('escalated');
    expect(await caseStatus()).toBe('escalated');
    expect((await get(`/v1/alerts/${high.id}`)).json().status).toBe('escalated');
    // The case cannot be acknowledged any more, whichever route asks.
    expect((await post(`/v1/alerts/${high.id}/transitions`, { action: 'acknowledge' })).statusCode).toBe(409);
    expect((await post(`/v1/cases/${id}/transitions`, { action: 'acknowledge' })).statusCode).toBe(409);
    await post(`/v1/alerts/${low.id}/transitions`, { action: 'resolve', note: 'stale level' });
    expect(await caseStatus()).toBe('escalated');
    await post(`/v1/alerts/${high.id}/transitions`, { action: 'resolve', note: 'accounts closed' });
    const detail = (await get(`/v1/cases/${id}`)).json();
    expect(detail.case.status).toBe('resolved');
    expect(detail.case.history.at(-1)).toMatchObject({ action: 'resolve', actor: ACTOR.analyst, from: 'escalated', to: 'resolved', alertId: high.id, note: 'accounts closed' });
    expect(detail.audit[0]).toMatchObject({ action: 'case.resolve', note: `with alert ${high.id}: accounts closed` });
    const outbox = await api.redis.xrange(api.keys.alerts.outbox, '-', '+');
    expect(outbox.map(([, f]) => `${f[1] === low.id ? 'low' : 'high'} ${f[3]}`)).toEqual(['low alert.raised', 'high alert.raised', 'low alert.updated', 'high alert.updated', 'low alert.updated', 'high alert.updated']);
  });

  it('brings a case and its alerts back to agree after a move crashed between them (the sweep), telling the notifier', async () => {
    api = await startApi({ now: () => new Date(NOW), caseSweep: { intervalMs: 100 } });
    const low = await structuring('g-9', 0.5, 'medium', NOW - 2 * HOUR);
    const high = await structuring('g-9', 0.8, 'high', NOW - HOUR);
    const id = groupCase('g-9');
    // The first step of a two-step move, run for real (the case and its audit entry); the crash
    // comes before its alerts follow.
    await api.store.casebook.update(id, (c) => {
      const next: Case = { ...c, status: 'resolved', updatedAt: iso(NOW), history: [...c.history, { at: iso(NOW), action: 'resolve', actor: ACTOR.analyst, from: c.status, to: 'resolved', note: 'accounts closed' }] };
      return { next, audit: { actor: ACTOR.analyst, action: 'case.resolve', before: caseSummary(c), after: caseSummary(next), note: 'accounts closed' } };
    });
    const status = async (alertId: string) => (await get(`/v1/alerts/${alertId}`)).json().status;
    await waitFor(async () => (await status(low.id)) === 'resolved' && (await status(high.id)) === 'resolved', { timeoutMs: 10_000, what: 'the sweep to resolve the alerts' });
    const outbox = await api.redis.xrange(api.keys.alerts.outbox, '-', '+');
    expect(outbox.map(([, f]) => `${f[1] === low.id ? 'low' : 'high'} ${f[3]}`)).toEqual(['low alert.raised', 'high alert.raised', 'low alert.updated', 'high alert.updated']);
    expect((await get(`/v1/alerts/${high.id}`)).json().history.at(-1)).toMatchObject({ action: 'resolve', actor: 'flopwatch', note: `with case ${id}: recovered` });
    expect((await api.app.inject({ url: '/metrics' })).body).toContain('flopwatch_case_alert_repairs_total 2');
    expect((await get('/v1/audit/verify', 'analyst')).json().ok).toBe(true);
  });

  it('reopens a resolved case when a higher level is raised, raising its severity', async () => {
    await start();
    await structuring('g-3', 0.5, 'medium', NOW - 2 * HOUR);
    const id = groupCase('g-3');
    expect((await post(`/v1/cases/${id}/transitions`, { action: 'resolve', note: 'accounts closed' })).json().status).toBe('resolved');
    await structuring('g-3', 0.8, 'high', NOW - HOUR);
    const c = (await get(`/v1/cases/${id}`)).json().case;
    expect(c).toMatchObject({ status: 'open', severity: 'high', level: 0.8, severitySince: iso(NOW - HOUR) });
    expect(c.history.at(-1)).toMatchObject({ action: 'reopen', from: 'resolved', to: 'open', actor: 'flopwatch-ingest', level: 0.8 });
  });

  it('sets due times by severity from the pack and shows overdue cases in the queue and the metric', async () => {
    // Default pack: high 72 h, medium 168 h. Both raised 100 h before "now".
    await start();
    const raised = NOW - 100 * HOUR;
    await raiseAlert(api.store, { subject: 't-high', level: 0.8, severity: 'high', raisedAt: iso(raised) });
    await raiseAlert(api.store, { subject: 't-med', level: 0.5, severity: 'medium', raisedAt: iso(raised) });
    const cases = (await get('/v1/cases')).json().cases as { subject: string; dueAt: string; overdue: boolean }[];
    expect(cases.find((c) => c.subject === 't-high')).toMatchObject({ dueAt: iso(raised + 72 * HOUR), overdue: true });
    expect(cases.find((c) => c.subject === 't-med')).toMatchObject({ dueAt: iso(raised + 168 * HOUR), overdue: false });
    expect((await get('/v1/cases?overdue=true')).json().cases.map((c: { subject: string }) => c.subject)).toEqual(['t-high']);
    expect((await get('/v1/cases')).json().counts.overdue).toBe(1);
    const metrics = (await api.app.inject({ url: '/metrics' })).body;
    expect(metrics).toContain('flopwatch_cases_overdue{severity="high"} 1');
    expect(metrics).toContain('flopwatch_cases_overdue{severity="medium"} 0');
    expect(metrics).toContain('flopwatch_cases{status="open"} 2');
  });

  it('acknowledges several cases at once, reporting each', async () => {
    await start();
    await raiseAlert(api.store, { subject: 'b-1', raisedAt: iso(NOW - HOUR) });
    await raiseAlert(api.store, { subject: 'b-2', raisedAt: iso(NOW - HOUR) });
    const [a, b] = ['b-1', 'b-2'].map((s) => caseId({ rule: 'tenant-approach', scope: 'tenant', subject: s }));
    await post(`/v1/cases/${b}/transitions`, { action: 'escalate' });
    const res = await post('/v1/cases/acknowledge', { ids: [a, b, 'cs_000000000000000000000000'], note: 'triaged' });
    expect(res.statusCode).toBe(200);
    expect(res.json().results).toEqual([
      { id: a, ok: true, status: 'acknowledged', error: null },
      { id: b, ok: false, status: null, error: expect.stringContaining('cannot acknowledge') },
      { id: 'cs_000000000000000000000000', ok: false, status: null, error: expect.stringContaining('does not exist') },
    ]);
  });
});

describe('case evidence', () => {
  let offset = 0;
  const record = (tenantId: string, endMs: number, tera: number): UsageRecord => ({
    offset: String(offset++), tenantId, jobKey: `c/${tenantId}-${endMs}`, node: null, startMs: endMs - HOUR, endMs, teraOpsPerMs: tera / HOUR, upperTeraOpsPerMs: (2 * tera) / HOUR,
    milliGpus: 8000, lineageId: null, country: 'US', tier: 1, acceleratorId: 'nvidia-h100-sxm5-80gb', controlledTier1: true, h100e: 8,
  });

  it('draws linked tenants with the identifiers linking them, and cumulative operations by day', async () => {
    await start();
    const put = (id: string, card: string) => api.app.inject({ method: 'PUT', url: `/v1/tenants/${id}`, headers: auth('admin'), payload: tenant(id, { hqCountry: 'SG', kycStatus: 'pending', identifiers: { paymentFingerprints: [card], contactDomains: ['shell.example'] } }) });
    await put('s-1', 'card-1');
    await put('s-2', 'card-1');
    await put('s-3', 'card-3');
    const group = await api.store.registry.groupOf('s-1');
    expect(group).not.toBeNull();
    await api.store.accounting.applyBatch([record('s-1', NOW - 2 * DAY, 1_000_000), record('s-2', NOW - 2 * DAY, 2_000_000), record('s-3', NOW - DAY, 4_000_000)]);
    await structuring(group!, 0.1, 'info', NOW - HOUR, { evidence: { topJobs: [], contributingTenants: [{ tenantId: 's-1', operations: 1e18 }, { tenantId: 's-2', operations: 2e18 }, { tenantId: 's-3', operations: 4e18 }] } });
    const id = groupCase(group!);

    const detail = (await get(`/v1/cases/${id}`)).json();
    expect(detail.graph.nodes.map((n: { tenantId: string }) => n.tenantId)).toEqual(['s-1', 's-2', 's-3']);
    expect(detail.graph.edges.map(({ a, b, identifiers }: { a: string; b: string; identifiers: string[] }) => ({ a, b, identifiers }))).toEqual([
      { a: 's-1', b: 's-2', identifiers: ['contactDomains:shell.example', 'paymentFingerprints:card-1'] },
      { a: 's-1', b: 's-3', identifiers: ['contactDomains:shell.example'] },
      { a: 's-2', b: 's-3', identifiers: ['contactDomains:shell.example'] },
    ]);
    // Each link says why, with what each side declared.
    const byIdentifier = (x: { identifier: string }, y: { identifier: string }) => x.identifier.localeCompare(y.identifier);
    expect([...detail.graph.edges[0].reasons].sort(byIdentifier)).toEqual([
      { identifier: 'paymentFingerprints:card-1', kind: 'paymentFingerprints', a: 'card-1', b: 'card-1', score: 1, why: 'paymentFingerprints: the same value' },
      { identifier: 'contactDomains:shell.example', kind: 'contactDomains', a: 'shell.example', b: 'shell.example', score: 1, why: 'contactDomains: the same value' },
    ].sort(byIdentifier));
    expect(detail.graph.widelyShared).toEqual([]);
    expect(detail.tenants.map((t: { record: { kycStatus: string } }) => t.record.kycStatus)).toEqual(['pending', 'pending', 'pending']);
    expect(detail.ancestry).toBeNull();

    const series = (await get(`/v1/cases/${id}/series`)).json();
    const day = (ms: number) => iso(Math.floor(ms / DAY) * DAY).slice(0, 10);
    // 1e6 + 2e6 tera-operations two days ago, 4e6 one day ago.
    expect(series.points).toEqual([{ day: day(NOW - 2 * DAY - HOUR), operations: 3e18 }, { day: day(NOW - DAY - HOUR), operations: 7e18 }]);
    expect(series.levels.map((l: { operations: number }) => l.operations)).toEqual([0.1e26, 0.25e26, 0.5e26, 0.8e26, 0.9e26, 1e26]);
    expect(series.alerts).toEqual([{ raisedAt: iso(NOW - HOUR), level: 0.1, observedOperations: 0.1e26 }]);
  });
});

describe('lineage evidence', () => {
  it("shows a laundering case's lineage ancestry with the tenants of each lineage and how each link was found", async () => {
    await start();
    const put = (id: string, parentId: string | null) => api.app.inject({ method: 'PUT', url: `/v1/lineages/${id}`, headers: auth('admin'), payload: { parentId, baseModel: null, notes: '' } });
    await put('anc-base', null);
    await put('anc-child', 'anc-base');
    const rec = (tenantId: string, lineageId: string, i: number): UsageRecord => ({
      offset: String(i), tenantId, jobKey: `c/${lineageId}`, node: null, startMs: NOW - 2 * HOUR, endMs: NOW - HOUR, teraOpsPerMs: 1, upperTeraOpsPerMs: 2,
      milliGpus: 8000, lineageId, country: 'US', tier: 1, acceleratorId: 'nvidia-h100-sxm5-80gb', controlledTier1: true, h100e: 8,
    });
    await api.store.accounting.applyBatch([rec('ten-x', 'anc-base', 0), rec('ten-y', 'anc-child', 1)]);
    await raiseAlert(api.store, { rule: 'lineage-laundering', scope: 'lineage', subject: 'anc-child', level: 0.5, raisedAt: iso(NOW - HOUR) });
    const detail = (await get(`/v1/cases/${caseId({ rule: 'lineage-laundering', scope: 'lineage', subject: 'anc-child' })}`)).json();
    expect(detail.graph).toBeNull();
    expect(detail.ancestry).toEqual([
      { lineageId: 'anc-child', tenants: ['ten-y'], link: { parentId: 'anc-base', kind: 'declared', checkpoint: null, tenantId: 'ten-y', parentTenantId: null } },
      { lineageId: 'anc-base', tenants: ['ten-x'], link: null },
    ]);
  });
});

describe('audit trail', () => {
  it('verifies the chain over the API and names an entry tampered with in Redis', async () => {
    await start();
    await structuring('g-4', 0.5, 'medium', NOW - HOUR);
    const id = groupCase('g-4');
    for (const text of ['one', 'two', 'three']) await post(`/v1/cases/${id}/comments`, { text });
    const ok = await get('/v1/audit/verify', 'analyst');
    expect(ok.json()).toEqual({ ok: true, checked: 4, firstSeq: 1, lastSeq: 4, broken: null, unsealed: 0, unconfirmed: [], keyed: false, unkeyed: 0, floor: null, copy: null, findings: [] });
    expect((await get('/v1/audit/verify', 'viewer')).statusCode).toBe(403);

    const log = api.keys.audit.log;
    const entries = await api.redis.xrange(log, '-', '+');
    await api.redis.del(log);
    for (const [eid, fields] of entries) {
      const f = [...fields];
      if (eid === entries[2]![0]) f[f.indexOf('data') + 1] = f[f.indexOf('data') + 1]!.replace('two', 'TWO');
      await api.redis.xadd(log, eid, ...f);
    }
    const bad = (await get('/v1/audit/verify', 'analyst')).json();
    expect(bad).toMatchObject({ ok: false, broken: { id: entries[2]![0], seq: 3, reason: 'hash_mismatch' } });
  });

  it('leaves neither a case change nor its entry when the entry cannot be written', async () => {
    await start();
    await structuring('g-5', 0.5, 'medium', NOW - HOUR);
    const id = groupCase('g-5');
    const before = await api.redis.get(api.keys.cases.record(id));
    // The case and its entry are written by one script: break the stream the entry goes to.
    const unsealed = api.keys.audit.unsealed;
    await api.store.audit.seal();
    await api.redis.set(unsealed, 'broken');
    const res = await post(`/v1/cases/${id}/comments`, { text: 'lost?' });
    expect(res.statusCode).toBe(500);
    expect(await api.redis.get(api.keys.cases.record(id))).toBe(before);
    await api.redis.del(unsealed);
    expect((await get('/v1/audit/verify', 'analyst')).json()).toMatchObject({ ok: true, checked: 1 });
  });

  it('exports audit entries and cases for a time range as NDJSON and CSV', async () => {
    await start();
    await raiseAlert(api.store, { subject: 'x-old', raisedAt: iso(NOW - 10 * DAY) });
    await raiseAlert(api.store, { subject: 'x-new', raisedAt: iso(NOW - DAY) });
    await post(`/v1/cases/${caseId({ rule: 'tenant-approach', scope: 'tenant', subject: 'x-new' })}/comments`, { text: 'has "quotes", commas\nand =formula' });

    const nd = await get('/v1/audit/export', 'analyst');
    expect(nd.headers['content-type']).toContain('application/x-ndjson');
    const lines = nd.body.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.seq, l.action])).toEqual([[1, 'case.open'], [2, 'case.open'], [3, 'case.comment']]);
    expect(lines[1].prev).toBe(lines[0].hash);
    // Stream ids are the time of writing: a range ending before the first write holds nothing.
    expect((await get(`/v1/audit/export?until=${iso(Date.now() - 60 * DAY)}`, 'analyst')).body).toBe('');

    const csv = await get('/v1/audit/export?format=csv', 'analyst');
    expect(csv.headers['content-type']).toContain('text/csv');
    const rows = csv.body.split('\r\n');
    expect(rows[0]).toBe('seq,id,at,actor,action,object,note,requestId,before,after,prev,hash,kid,mac');
    // Records end in CRLF; the comment's own newline stays inside its quoted field.
    expect(rows.filter((r) => r.length > 0)).toHaveLength(4);
    expect(csv.body).toContain('"has ""quotes"", commas\nand =formula"');

    const cases = (await get(`/v1/cases/export?since=${iso(NOW - 2 * DAY)}`, 'analyst')).body.trim().split('\n').map((l) => JSON.parse(l));
    expect(cases.map((c) => c.subject)).toEqual(['x-new']);
    expect(cases[0].comments).toHaveLength(1);
    const all = (await get('/v1/cases/export?format=csv', 'analyst')).body.split('\r\n');
    expect(all[0]!.startsWith('id,rule,scope,subject,status,severity')).toBe(true);
    expect(all.filter((r) => r.includes('tenant-approach'))).toHaveLength(2);
    expect((await get('/v1/cases/export', 'viewer')).statusCode).toBe(403);
  });
});
