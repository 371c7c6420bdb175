import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@flopwatch/test-harness';
import { auth, startApi, type TestApi } from './helpers.js';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

const letter = (channel: 'kafka' | 'alertmanager', n: number) => ({
  channel, reason: channel === 'kafka' ? 'record_too_large' : 'alertmanager_rejected', at: new Date(n * 1_000).toISOString(),
  alertId: `al_${String(n).padStart(24, '0')}`, type: 'alert.raised', caseId: `cs_${String(n).padStart(24, '0')}`, entryId: null, error: `refused ${n}`,
});

describe('notifier dead-letter routes', () => {
  it('lists the channel dead letters to readers and lets only an admin hand them back, each once and audited', async () => {
    await api.store.notifyChannels.deadLetter(letter('kafka', 1));
    await api.store.notifyChannels.deadLetter(letter('alertmanager', 2));
    await api.store.notifyChannels.deadLetter(letter('kafka', 3));

    const listed = await api.app.inject({ url: '/v1/notifier/dead-letters', headers: auth('viewer') });
    expect(listed.statusCode).toBe(200);
    expect(listed.json<{ deadLetters: { alertId: string }[] }>().deadLetters.map((l) => l.alertId)).toEqual([3, 2, 1].map((n) => letter('kafka', n).alertId));

    for (const role of ['viewer', 'analyst'] as const) {
      const refused = await api.app.inject({ method: 'POST', url: '/v1/notifier/dead-letters/redeliver', headers: auth(role) });
      expect(refused.statusCode).toBe(403);
    }
    const bad = await api.app.inject({ method: 'POST', url: '/v1/notifier/dead-letters/redeliver?channel=webhooks', headers: auth('admin') });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'VALIDATION_FAILED' });

    const kafka = await api.app.inject({ method: 'POST', url: '/v1/notifier/dead-letters/redeliver?channel=kafka', headers: auth('admin') });
    expect(kafka.statusCode).toBe(202);
    expect(kafka.json()).toEqual({ kafka: 2, alertmanager: 0 });
    const again = await api.app.inject({ method: 'POST', url: '/v1/notifier/dead-letters/redeliver?channel=kafka', headers: auth('admin') });
    expect(again.json()).toEqual({ kafka: 0, alertmanager: 0 });
    // Each Kafka letter is one outbox entry for the Kafka channel alone, oldest first.
    const outbox = api.store.outbox({ group: 'redeliver-check', consumer: 'c', claimIdleMs: 60_000, batchSize: 10 });
    await outbox.ensureGroup();
    expect((await outbox.read()).map((e) => [e.alertId, e.type, e.channel])).toEqual([1, 3].map((n) => [letter('kafka', n).alertId, 'alert.raised', 'kafka']));
    const left = await api.app.inject({ url: '/v1/notifier/dead-letters', headers: auth('viewer') });
    expect(left.json<{ deadLetters: { channel: string }[] }>().deadLetters.map((l) => l.channel)).toEqual(['alertmanager']);

    const all = await api.app.inject({ method: 'POST', url: '/v1/notifier/dead-letters/redeliver', headers: auth('admin') });
    expect(all.json()).toEqual({ kafka: 0, alertmanager: 1 });
    const audit = await waitFor(async () => {
      const res = await api.app.inject({ url: '/v1/audit?object=notifier:kafka', headers: auth('admin') });
      const entries = res.json<{ entries: { action: string; after: unknown }[] }>().entries;
      return entries.length > 0 ? entries : null;
    }, { what: 'the audit entry of the redelivery' });
    // The run that redelivered nothing changed nothing and left no entry.
    expect(audit.map((e) => [e.action, e.after])).toEqual([['notifier.redeliver_dead_letters', { kafka: 2, alertmanager: 0 }]]);
  });
});
