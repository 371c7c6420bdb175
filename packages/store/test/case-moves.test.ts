import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { caseId, caseSummary, isClosed, type Alert, type Case, type TransitionAction } from '@flopwatch/contracts';
import { Redis } from 'ioredis';
import { dropPrefix, freshPrefix, startPrivateRedis, startRedisCluster, testRedis } from '@flopwatch/test-harness';
import { createKeys, createStore, type Keys, type MoveBy, type Store } from '../src/index.js';
import { makeAlert } from './alert-fixture.js';

const redis = testRedis();
const prefixes: string[] = [];
let store: Store;
let keys: Keys;
beforeEach(() => {
  const prefix = freshPrefix('moves');
  prefixes.push(prefix);
  store = createStore({ redis, prefix });
  keys = createKeys(prefix);
});
afterAll(async () => {
  await dropPrefix(redis, ...prefixes);
  redis.disconnect();
});

const T0 = Date.parse('2026-11-20T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const by = (note?: string, actor = 'alice'): MoveBy => ({ actor, at: new Date(T0 + 3_600_000), ...(note ? { note } : {}) });

/** A case of `subject` with one alert per level (raised in order), as the ingest raises them. */
async function caseWith(subject: string, levels: number[]): Promise<{ id: string; alerts: Alert[] }> {
  const alerts = levels.map((level, i) => makeAlert({ subject, level, raisedAt: at(i) }));
  for (const a of alerts) await store.alerts.raise(a);
  return { id: caseId(alerts[0]!), alerts };
}

const readCase = async (id: string) => JSON.parse((await redis.get(keys.cases.record(id)))!) as Case;
const readAlert = async (id: string) => JSON.parse((await redis.get(keys.alerts.record(id)))!) as Alert;
const statuses = async (alerts: Alert[]) => Promise.all(alerts.map(async (a) => (await readAlert(a.id)).status));
const outbox = async () => (await redis.xrange(keys.alerts.outbox, '-', '+')).map(([, f]) => `${f[1]} ${f[3]}`);

/** The rule case-moves.ts keeps: open alerts have the case's status; an active case has an open alert. */
function agree(c: Case, alerts: Alert[]): boolean {
  const active = alerts.filter((a) => !isClosed(a.status));
  return active.every((a) => a.status === c.status) && (isClosed(c.status) || active.length > 0);
}
const agreeNow = async (id: string) => {
  const c = await readCase(id);
  return agree(c, await Promise.all(c.alerts.map((a) => readAlert(a.id))));
};

/** What the notifier does with each outbox entry for Alertmanager (fan-out.ts), then whether it fires the case. */
async function alertmanagerFires(id: string): Promise<boolean> {
  for (const [entryId, f] of await redis.xrange(keys.alerts.outbox, '-', '+')) {
    const alert = await readAlert(f[1]!);
    if (caseId(alert) === id) await store.notifyChannels.trackCase(id, alert, alert.id, Number(entryId.split('-')[0]));
  }
  return (await store.notifyChannels.caseState(id)).open;
}

describe('case moves', () => {
  it('moves a case and all its alerts in one step, with their outbox and audit entries', async () => {
    const { id, alerts } = await caseWith('g-1', [0.5, 0.8]);
    const moved = await store.caseMoves.moveCase(id, 'resolve', by('accounts closed'));
    expect(moved.case.status).toBe('resolved');
    expect(moved.moved.sort()).toEqual(alerts.map((a) => a.id).sort());
    expect(await statuses(alerts)).toEqual(['resolved', 'resolved']);
    expect(await outbox()).toEqual([...alerts.map((a) => `${a.id} alert.raised`), ...alerts.map((a) => `${a.id} alert.updated`)]);
    const entries = (await store.audit.list({ limit: 10 })).entries.slice(0, 3).reverse();
    expect(entries.map((e) => [e.object, e.action, e.note])).toEqual([
      [`case:${id}`, 'case.resolve', 'accounts closed'],
      ...alerts.map((a) => [`alert:${a.id}`, 'alert.resolve', `with case ${id}: accounts closed`]),
    ]);
    expect(await alertmanagerFires(id)).toBe(false);
    expect((await store.audit.verify({})).ok).toBe(true);
  });

  it('writes nothing when a Redis failure stops the step: the case and its alerts stay as they were', async () => {
    const { id, alerts } = await caseWith('g-2', [0.5, 0.8]);
    const before = await Promise.all([redis.get(keys.cases.record(id)), ...alerts.map((a) => redis.get(keys.alerts.record(a.id)))]);
    await store.audit.seal();
    // The outbox's key holding another type makes the step fail: it fails before its first write.
    const entries = await redis.xrange(keys.alerts.outbox, '-', '+');
    await redis.del(keys.alerts.outbox);
    await redis.set(keys.alerts.outbox, 'broken');
    await expect(store.caseMoves.moveCase(id, 'resolve', by('accounts closed'))).rejects.toThrow(/OUTBOX_WRONGTYPE/);
    expect(await Promise.all([redis.get(keys.cases.record(id)), ...alerts.map((a) => redis.get(keys.alerts.record(a.id)))])).toEqual(before);
    expect(await redis.xlen(keys.audit.unsealed)).toBe(0);
    await redis.del(keys.alerts.outbox);
    for (const [entryId, f] of entries) await redis.xadd(keys.alerts.outbox, entryId, ...f);
    await store.caseMoves.moveCase(id, 'resolve', by('accounts closed'));
    expect(await agreeNow(id)).toBe(true);
    expect(await statuses(alerts)).toEqual(['resolved', 'resolved']);
  });

  it('leaves a case and its alerts agreeing when the writer dies with its move in flight', async () => {
    // A Redis of its own: pausing writes there holds the move's script until the writer is gone.
    const server = await startPrivateRedis();
    const admin = new Redis(server.url);
    const writer = new Redis(server.url, { maxRetriesPerRequest: 0 });
    try {
      const prefix = freshPrefix('moves');
      const own = createStore({ redis: writer, prefix });
      const k = createKeys(prefix);
      const alerts = [makeAlert({ subject: 'g-kill', level: 0.5, raisedAt: at(0) }), makeAlert({ subject: 'g-kill', level: 0.8, raisedAt: at(1) })];
      for (const a of alerts) await own.alerts.raise(a);
      const id = caseId(alerts[0]!);
      await admin.call('CLIENT', 'PAUSE', '20000', 'WRITE');
      const inFlight = own.caseMoves.moveCase(id, 'resolve', by('accounts closed')).catch((err: unknown) => err);
      // The move has read the case and its alerts and sent its script, which waits on the pause.
      const blocked = async () => /blocked_clients:1\b/.test(await admin.info('clients'));
      for (let i = 0; i < 100 && !(await blocked()); i++) await new Promise((r) => setTimeout(r, 20));
      expect(await blocked()).toBe(true);
      writer.disconnect(); // the writer dies: its connection goes with the step unanswered
      expect(await inFlight).toBeInstanceOf(Error);
      await admin.call('CLIENT', 'UNPAUSE');
      const c = JSON.parse((await admin.get(k.cases.record(id)))!) as Case;
      const states = await Promise.all(alerts.map(async (a) => (JSON.parse((await admin.get(k.alerts.record(a.id)))!) as Alert).status));
      // All or nothing: the case and both alerts resolved with their outbox entries, or none of it.
      const moved = c.status === 'resolved';
      expect(states).toEqual(moved ? ['resolved', 'resolved'] : ['open', 'open']);
      expect(await admin.xlen(k.alerts.outbox)).toBe(moved ? 4 : 2);
      expect(await admin.xlen(k.audit.unsealed)).toBe(moved ? 2 + 3 : 2);
      // Nothing to recover; the analyst's repeated move (or the one that landed) leaves them resolved together.
      const after = createStore({ redis: admin, prefix });
      expect(await after.caseMoves.reconcile(id)).toBe(0);
      if (!moved) await after.caseMoves.moveCase(id, 'resolve', by('accounts closed'));
      expect((await after.caseMoves.moveCase(id, 'resolve', by()).catch((err: unknown) => err))).toMatchObject({ code: 'illegal_transition' });
      expect(await Promise.all(alerts.map(async (a) => (JSON.parse((await admin.get(k.alerts.record(a.id)))!) as Alert).status))).toEqual(['resolved', 'resolved']);
    } finally {
      writer.disconnect();
      admin.disconnect();
      await server.destroy();
    }
  });

  it('recovers a case whose move crashed before its alerts followed (the two-step write): they agree, and the notifier hears it', async () => {
    const { id, alerts } = await caseWith('g-3', [0.5, 0.8]);
    const fine = await caseWith('g-3b', [0.5]);
    await store.caseMoves.moveCase(fine.id, 'acknowledge', by());
    // The first step of the two-step write, run for real: the case and its audit entry. The crash
    // comes before the second step (its alerts, one by one).
    await store.casebook.update(id, (c) => {
      const next: Case = { ...c, status: 'resolved', updatedAt: at(30), history: [...c.history, { at: at(30), action: 'resolve', actor: 'alice', from: c.status, to: 'resolved', note: 'accounts closed' }] };
      return { next, audit: { actor: 'alice', action: 'case.resolve', before: caseSummary(c), after: caseSummary(next), note: 'accounts closed' } };
    });
    expect(await agreeNow(id)).toBe(false);
    expect(await alertmanagerFires(id)).toBe(true);
    const entriesBefore = (await outbox()).length;

    const changed = [];
    for await (const r of store.caseMoves.reconcileAll(new Date(T0 + 7_200_000))) changed.push(r);
    expect(changed).toEqual([{ caseId: id, changed: alerts.length }]);
    expect(await agreeNow(id)).toBe(true);
    expect(await statuses(alerts)).toEqual(['resolved', 'resolved']);
    expect((await outbox()).slice(entriesBefore)).toEqual(alerts.map((a) => `${a.id} alert.updated`));
    expect(await alertmanagerFires(id)).toBe(false);
    const last = await readAlert(alerts[1]!.id);
    expect(last.history.at(-1)).toMatchObject({ action: 'resolve', from: 'open', to: 'resolved', actor: 'flopwatch', note: `with case ${id}: recovered` });
    expect((await store.audit.list({ object: `alert:${alerts[0]!.id}`, limit: 5 })).entries.map((e) => [e.actor, e.action])).toEqual([['flopwatch', 'alert.resolve']]);
    // A second pass finds nothing to do.
    expect(await store.caseMoves.reconcile(id)).toBe(0);
    expect((await store.audit.verify({})).ok).toBe(true);
  });

  it('recovers an acknowledgement that reached the case only, and a case whose alerts were all closed without it', async () => {
    const acked = await caseWith('g-4', [0.5, 0.8]);
    await store.casebook.update(acked.id, (c) => ({ next: { ...c, status: 'acknowledged' }, audit: { actor: 'alice', action: 'case.acknowledge', before: null, after: null } }));
    const closed = await caseWith('g-5', [0.5]);
    const only = closed.alerts[0]!;
    const text = (await redis.get(keys.alerts.record(only.id)))!;
    const fp: Alert = { ...only, status: 'false_positive', history: [...only.history, { at: at(40), action: 'mark_false_positive', from: 'open', to: 'false_positive', actor: 'bob', note: 'test cluster' }] };
    expect(await store.cases.replace(only.id, text, fp)).toBe('replaced');

    expect(await store.caseMoves.reconcile(acked.id)).toBe(2);
    expect(await statuses(acked.alerts)).toEqual(['acknowledged', 'acknowledged']);
    expect(await store.caseMoves.reconcile(closed.id)).toBe(1);
    const c = await readCase(closed.id);
    expect(c.status).toBe('false_positive');
    expect(c.history.at(-1)).toMatchObject({ action: 'mark_false_positive', actor: 'flopwatch', from: 'open', to: 'false_positive' });
    expect([await agreeNow(acked.id), await agreeNow(closed.id)]).toEqual([true, true]);
  });

  it('recovers an alert escalated on its own while its case was only acknowledged: the case and its other alerts follow it', async () => {
    const { id, alerts } = await caseWith('g-4b', [0.5, 0.8]);
    // As the per-alert route left it before it moved cases: one alert escalated alone, then the case acknowledged with the other.
    const low = alerts[0]!;
    const text = (await redis.get(keys.alerts.record(low.id)))!;
    expect(await store.cases.replace(low.id, text, { ...low, status: 'escalated', history: [...low.history, { at: at(5), action: 'escalate', from: 'open', to: 'escalated', actor: 'bob' }] })).toBe('replaced');
    await store.casebook.update(id, (c) => ({ next: { ...c, status: 'acknowledged' }, audit: { actor: 'alice', action: 'case.acknowledge', before: null, after: null } }));
    expect(await agreeNow(id)).toBe(false);
    expect(await store.caseMoves.reconcile(id)).toBe(2);
    expect([(await readCase(id)).status, ...(await statuses(alerts))]).toEqual(['escalated', 'escalated', 'escalated']);
    expect((await readCase(id)).history.at(-1)).toMatchObject({ action: 'escalate', actor: 'flopwatch', note: 'an alert of it is escalated' });
  });

  it('moves the case with an alert: acknowledging one acknowledges the case and its other alerts', async () => {
    const { id, alerts } = await caseWith('g-6', [0.5, 0.8]);
    const r = await store.caseMoves.moveAlert(alerts[0]!.id, 'acknowledge', by('looking'));
    expect(r.case?.status).toBe('acknowledged');
    expect(r.case?.history.at(-1)).toMatchObject({ action: 'acknowledge', alertId: alerts[0]!.id, note: 'looking' });
    expect(await statuses(alerts)).toEqual(['acknowledged', 'acknowledged']);
    expect((await store.audit.list({ object: `case:${id}`, limit: 1 })).entries[0]).toMatchObject({ action: 'case.acknowledge', note: `with alert ${alerts[0]!.id}: looking` });
    // Escalating an acknowledged case's alert escalates the case; acknowledging it again is refused.
    await store.caseMoves.moveAlert(alerts[1]!.id, 'escalate', by());
    expect([(await readCase(id)).status, ...(await statuses(alerts))]).toEqual(['escalated', 'escalated', 'escalated']);
    await expect(store.caseMoves.moveAlert(alerts[0]!.id, 'acknowledge', by())).rejects.toMatchObject({ code: 'illegal_transition' });
  });

  it('closes the case with its last open alert, not before', async () => {
    const { id, alerts } = await caseWith('g-7', [0.5, 0.8]);
    const first = await store.caseMoves.moveAlert(alerts[0]!.id, 'resolve', by('stale level'));
    expect(first.case?.status).toBe('open');
    expect(first.moved).toEqual([alerts[0]!.id]);
    expect(await alertmanagerFires(id)).toBe(true);
    const last = await store.caseMoves.moveAlert(alerts[1]!.id, 'mark_false_positive', by('test cluster'));
    expect(last.case?.status).toBe('false_positive');
    expect(await statuses(alerts)).toEqual(['resolved', 'false_positive']);
    expect(await agreeNow(id)).toBe(true);
    expect(await alertmanagerFires(id)).toBe(false);
    expect(await outbox()).toEqual([...alerts.map((a) => `${a.id} alert.raised`), ...alerts.map((a) => `${a.id} alert.updated`)]);
  });

  it("gives an alert raised into an acknowledged or closed case the case's status, unless it reopens it", async () => {
    const { id, alerts } = await caseWith('g-8', [0.5]);
    await store.caseMoves.moveCase(id, 'acknowledge', by());
    const higher = makeAlert({ subject: 'g-8', level: 0.8, severity: 'high', raisedAt: at(10) });
    await store.alerts.raise(higher);
    expect((await readAlert(higher.id)).history.at(-1)).toMatchObject({ action: 'acknowledge', from: 'open', to: 'acknowledged', note: `joins case ${id}, which is acknowledged` });
    await store.caseMoves.moveCase(id, 'resolve', by('done'));
    // A lower level raised late is listed in the closed case, closed with it: Alertmanager does not fire again.
    const late = makeAlert({ subject: 'g-8', level: 0.6, raisedAt: at(20) });
    await store.alerts.raise(late);
    expect((await readAlert(late.id)).status).toBe('resolved');
    expect(await agreeNow(id)).toBe(true);
    expect(await alertmanagerFires(id)).toBe(false);
    // A higher level reopens the case and stays open itself.
    const top = makeAlert({ subject: 'g-8', level: 1, severity: 'critical', raisedAt: at(30) });
    await store.alerts.raise(top);
    expect([(await readCase(id)).status, (await readAlert(top.id)).status, ...(await statuses(alerts))]).toEqual(['open', 'open', 'resolved']);
    expect(await agreeNow(id)).toBe(true);
  });

  it('keeps case and alerts agreeing under concurrent case moves, alert moves and raises', async () => {
    const subjects = Array.from({ length: 6 }, (_, i) => `g-race-${i}`);
    const actions: TransitionAction[] = ['acknowledge', 'escalate', 'resolve', 'mark_false_positive'];
    const cases = await Promise.all(subjects.map((s) => caseWith(s, [0.5, 0.8])));
    const attempts = cases.flatMap(({ id, alerts }, i) => [
      store.caseMoves.moveCase(id, actions[i % 4]!, by('case')),
      store.caseMoves.moveAlert(alerts[0]!.id, actions[(i + 1) % 4]!, by('alert 1')),
      store.caseMoves.moveAlert(alerts[1]!.id, actions[(i + 2) % 4]!, by('alert 2')),
      store.alerts.raise(makeAlert({ subject: subjects[i], level: 0.9, severity: 'high', raisedAt: at(50) })),
    ]);
    const outcomes = await Promise.allSettled(attempts);
    // Every refusal is the lifecycle's (a move that another made illegal), never a half-written step.
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'illegal_transition' });
    for (const { id } of cases) expect(await agreeNow(id)).toBe(true);
    for (const { id } of cases) expect(await store.caseMoves.reconcile(id)).toBe(0);
  });
});

describe('case moves on a three-node Redis Cluster', () => {
  it('moves a case with its alerts in one step (the keys share one slot)', async () => {
    const cluster = await startRedisCluster();
    const client = cluster.client();
    try {
      const c = createStore({ redis: client, prefix: freshPrefix('moves') });
      const alerts = [makeAlert({ subject: 'g-c', level: 0.5, raisedAt: at(0) }), makeAlert({ subject: 'g-c', level: 0.8, raisedAt: at(1) })];
      for (const a of alerts) await c.alerts.raise(a);
      const moved = await c.caseMoves.moveAlert(alerts[1]!.id, 'escalate', by());
      expect(moved.alerts.map((a) => a.status)).toEqual(['escalated', 'escalated']);
      expect((await c.caseMoves.moveCase(caseId(alerts[0]!), 'resolve', by('done'))).alerts.map((a) => a.status)).toEqual(['resolved', 'resolved']);
      expect(await c.caseMoves.reconcile(caseId(alerts[0]!))).toBe(0);
      expect(await c.audit.verify({})).toMatchObject({ ok: true, checked: 2 + 3 + 3 });
    } finally {
      client.disconnect();
      await cluster.stop();
    }
  });
});
