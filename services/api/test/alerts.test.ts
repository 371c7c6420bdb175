import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTOR, auth, raiseAlert, startApi, type TestApi } from './helpers.js';

let api: TestApi;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => api?.close());

const transition = (id: string, body: object, role: 'analyst' | 'admin' | 'viewer' = 'analyst') =>
  api.app.inject({ method: 'POST', url: `/v1/alerts/${id}/transitions`, headers: auth(role), payload: body });

describe('alert triage', () => {
  it("shows an analyst's transition in the alert's history, the audit log and the outbox", async () => {
    const alert = await raiseAlert(api.store, { subject: 'tn-1' });
    const res = await transition(alert.id, { action: 'acknowledge', note: 'looking' });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('acknowledged');

    const got = (await api.app.inject({ url: `/v1/alerts/${alert.id}`, headers: auth('viewer') })).json();
    expect(got.status).toBe('acknowledged');
    expect(got.history).toHaveLength(2);
    expect(got.history[1]).toMatchObject({ action: 'acknowledge', from: 'open', to: 'acknowledged', actor: ACTOR.analyst, note: 'looking' });
    expect(got.observedOperations).toBe(alert.observedOperations);

    const audit = (await api.app.inject({ url: `/v1/audit?object=alert:${alert.id}`, headers: auth('analyst') })).json();
    expect(audit.entries).toEqual([expect.objectContaining({ actor: ACTOR.analyst, action: 'alert.acknowledge', before: { status: 'open' }, after: { status: 'acknowledged' }, note: 'looking' })]);

    const outbox = await api.redis.xrange(api.keys.alerts.outbox, '-', '+');
    expect(outbox.map(([, f]) => f)).toEqual([['id', alert.id, 'type', 'alert.raised'], ['id', alert.id, 'type', 'alert.updated']]);
  });

  it('walks the lifecycle and answers 409 to an illegal transition', async () => {
    const alert = await raiseAlert(api.store, { subject: 'tn-2' });
    expect((await transition(alert.id, { action: 'escalate' })).json().status).toBe('escalated');
    const back = await transition(alert.id, { action: 'acknowledge' });
    expect(back.statusCode).toBe(409);
    expect(back.json().error).toMatchObject({ code: 'CONFLICT', details: { status: 'escalated', action: 'acknowledge' } });
    expect((await transition(alert.id, { action: 'resolve', note: 'customer verified' })).json().status).toBe('resolved');
    expect((await transition(alert.id, { action: 'mark_false_positive', note: 'late' })).statusCode).toBe(409);
  });

  it('requires a note to resolve or mark a false positive, naming the field', async () => {
    const alert = await raiseAlert(api.store, { subject: 'tn-3' });
    for (const action of ['resolve', 'mark_false_positive']) {
      const res = await transition(alert.id, { action });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details.fields).toEqual(['body.note']);
    }
    const unknown = await transition(alert.id, { action: 'delete' });
    expect(unknown.json().error.details.fields).toEqual(['body.action']);
    expect((await api.app.inject({ url: `/v1/alerts/${alert.id}`, headers: auth('viewer') })).json().status).toBe('open');
  });

  it('records the key as actor, letting only an admin name another', async () => {
    const alert = await raiseAlert(api.store, { subject: 'tn-4' });
    await transition(alert.id, { action: 'acknowledge', actor: 'mallory' });
    await transition(alert.id, { action: 'escalate', actor: 'bob' }, 'admin');
    const history = (await api.app.inject({ url: `/v1/alerts/${alert.id}`, headers: auth('viewer') })).json().history;
    expect(history.slice(1).map((h: { actor: string }) => h.actor)).toEqual([ACTOR.analyst, 'bob']);
  });

  it('lets exactly one of two concurrent identical transitions win', async () => {
    const alert = await raiseAlert(api.store, { subject: 'tn-5' });
    const results = await Promise.all([transition(alert.id, { action: 'acknowledge' }), transition(alert.id, { action: 'acknowledge' })]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect((await api.app.inject({ url: `/v1/alerts/${alert.id}`, headers: auth('viewer') })).json().history).toHaveLength(2);
  });

  it('answers 404 for an unknown alert', async () => {
    const id = 'al_0123456789abcdef01234567';
    expect((await api.app.inject({ url: `/v1/alerts/${id}`, headers: auth('viewer') })).statusCode).toBe(404);
    expect((await transition(id, { action: 'acknowledge' })).statusCode).toBe(404);
  });

  it('lists alerts newest first with filters and a cursor', async () => {
    const t0 = Date.parse('2026-11-01T00:00:00Z');
    const at = (h: number) => new Date(t0 + h * 3_600_000).toISOString();
    const a = await raiseAlert(api.store, { subject: 'ta', raisedAt: at(1), severity: 'low' });
    const b = await raiseAlert(api.store, { subject: 'tb', raisedAt: at(2), severity: 'high' });
    const c = await raiseAlert(api.store, { subject: 'tc', raisedAt: at(3), severity: 'high' });
    const d = await raiseAlert(api.store, { subject: 'td', raisedAt: at(3), severity: 'high' });
    await transition(c.id, { action: 'acknowledge' });
    const list = (q: string) => api.app.inject({ url: `/v1/alerts?${q}`, headers: auth('viewer') }).then((r) => r.json());
    const ids = (page: { alerts: { id: string }[] }) => page.alerts.map((x) => x.id);

    const all = await list('');
    expect(ids(all)).toEqual([...[c.id, d.id].sort().reverse(), b.id, a.id]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...ids(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids(all));

    expect(ids(await list('severity=high&status=open')).sort()).toEqual([b.id, d.id].sort());
    expect(ids(await list('tenant=ta'))).toEqual([a.id]);
    expect(ids(await list(`since=${at(2)}&until=${at(2)}`))).toEqual([b.id]);
    expect(ids(await list('rule=structuring'))).toEqual([]);
    const bad = await api.app.inject({ url: '/v1/alerts?status=closed&since=yesterday', headers: auth('viewer') });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.fields.sort()).toEqual(['querystring.since', 'querystring.status']);
  });
});
