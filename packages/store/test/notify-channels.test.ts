import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { dropPrefix, freshPrefix, redisUrl } from '@flopwatch/test-harness';
import { createKeys, createStore, type Keys, type Store } from '../src/index.js';

const redis = new Redis(redisUrl());
const prefixes: string[] = [];
let store: Store;
/** The store's key names, for reading Redis directly through this test's client. */
let names: Keys;
beforeEach(() => {
  const prefix = freshPrefix('nc');
  prefixes.push(prefix);
  store = createStore({ redis, prefix });
  names = createKeys(prefix);
});
afterAll(async () => {
  await dropPrefix(redis, ...prefixes);
  redis.disconnect();
});

const key = { rule: 'frontier-approach', scope: 'tenant', subject: 't-1' };
const alert = (id: string, status: string) => ({ id, raisedAt: new Date(1_000).toISOString(), status, ...key });

describe('outbox channel marks (settle-channel-3)', () => {
  it('acknowledges and deletes an entry only when every required channel marked it, whatever the order', async () => {
    const outbox = names.alerts.outbox;
    const entry = await redis.xadd(outbox, '*', 'id', 'al_1', 'type', 'alert.raised');
    await redis.xgroup('CREATE', outbox, 'g', '0');
    await redis.xreadgroup('GROUP', 'g', 'c', 'STREAMS', outbox, '>');
    const required = ['kafka', 'webhooks', 'alertmanager'];
    expect(await store.notifyChannels.settle('g', entry!, 'webhooks', 'done', required)).toBe(false);
    expect(await store.notifyChannels.settle('g', entry!, 'alertmanager', 'dead', required)).toBe(false);
    expect((await store.notifyChannels.marks([entry!])).get(entry!)).toEqual(new Map([['webhooks', 'done'], ['alertmanager', 'dead']]));
    expect(((await redis.xpending(outbox, 'g')) as [number])[0]).toBe(1);
    expect(await store.notifyChannels.settle('g', entry!, 'kafka', 'done', required)).toBe(true);
    expect(((await redis.xpending(outbox, 'g')) as [number])[0]).toBe(0);
    expect(await redis.xlen(outbox)).toBe(0);
    expect(await redis.exists(names.alerts.channels(entry!))).toBe(0);
    // A slower instance that had the entry before it was taken over leaves no mark behind.
    expect(await store.notifyChannels.settle('g', entry!, 'webhooks', 'done', required)).toBe(true);
    expect(await redis.exists(names.alerts.channels(entry!))).toBe(0);
  });
});

describe('entries a channel holds (settle-channel-3)', () => {
  it('keeps when an entry was first held and why, and lets it go when the channel marks the entry', async () => {
    const outbox = names.alerts.outbox;
    const [e1, e2] = [await redis.xadd(outbox, '*', 'id', 'al_1', 'type', 'alert.raised'), await redis.xadd(outbox, '*', 'id', 'al_2', 'type', 'alert.raised')];
    await redis.xgroup('CREATE', outbox, 'g', '0');
    await redis.xreadgroup('GROUP', 'g', 'c', 'STREAMS', outbox, '>');
    expect(await store.notifyChannels.held('kafka')).toEqual({ channel: 'kafka', reason: 'auth', entries: 0, oldestAt: null });
    await store.notifyChannels.hold('kafka', 'unavailable', [e1!], 1_000);
    await store.notifyChannels.hold('kafka', 'auth', [e1!, e2!], 5_000);
    expect(await store.notifyChannels.held('kafka')).toEqual({ channel: 'kafka', reason: 'auth', entries: 2, oldestAt: 1_000 });
    expect(await store.notifyChannels.settle('g', e1!, 'kafka', 'done', ['kafka', 'webhooks'])).toBe(false);
    expect(await store.notifyChannels.held('kafka')).toEqual({ channel: 'kafka', reason: 'auth', entries: 1, oldestAt: 5_000 });
    // Another channel's mark leaves the Kafka hold alone.
    expect(await store.notifyChannels.settle('g', e2!, 'webhooks', 'done', ['kafka', 'webhooks'])).toBe(false);
    expect((await store.notifyChannels.held('kafka')).entries).toBe(1);
    expect(await store.notifyChannels.settle('g', e2!, 'kafka', 'done', ['kafka', 'webhooks'])).toBe(true);
    expect((await store.notifyChannels.held('kafka')).entries).toBe(0);
    // An entry acknowledged another way (it named no alert) is let go explicitly.
    await store.notifyChannels.hold('kafka', 'auth', ['9-0'], 7_000);
    await store.notifyChannels.release('kafka', ['9-0']);
    expect((await store.notifyChannels.held('kafka')).entries).toBe(0);
  });
});

describe('channel dead letters redelivered (redeliver-channel-3)', () => {
  const letter = (channel: string, n: number, over: Record<string, unknown> = {}) => ({
    channel, reason: channel === 'kafka' ? 'record_too_large' : 'alertmanager_rejected', at: new Date(n).toISOString(),
    alertId: `al_${n}`, type: 'alert.raised', caseId: `cs_${n}`, entryId: `${n}-0`, error: 'refused', ...over,
  });

  it('hands each Kafka letter back as an entry for Kafka alone and each Alertmanager letter as its case due now, once', async () => {
    await store.notifyChannels.deadLetter(letter('kafka', 1));
    await store.notifyChannels.deadLetter(letter('alertmanager', 2));
    await store.notifyChannels.deadLetter(letter('kafka', 3, { type: 'alert.updated' }));
    await store.notifyChannels.deadLetter(letter('kafka', 4, { alertId: null }));
    await store.notifyChannels.deadLetter(letter('alertmanager', 5, { caseId: null }));
    await store.notifyChannels.trackCase('cs_2', key, 'al_2', 1_000);
    await store.notifyChannels.recordSend('cs_2', { accepted: false, rejected: true, failures: 1 });
    expect(await store.notifyChannels.claimDueCases(1_000, 900_000, 10)).toEqual(['cs_2']);

    expect(await store.notifyChannels.redeliverDeadLetters('kafka', 50_000)).toEqual({ kafka: 2, alertmanager: 0 });
    const entries = (await redis.xrange(names.alerts.outbox, '-', '+')).map(([, f]) => f);
    expect(entries).toEqual([['id', 'al_1', 'type', 'alert.raised', 'channel', 'kafka'], ['id', 'al_3', 'type', 'alert.updated', 'channel', 'kafka']]);
    // Left, newest first: the letters that name nothing to redeliver and the Alertmanager letter (not chosen).
    expect((await store.notifyChannels.listDeadLetters()).map((l) => l.alertId)).toEqual(['al_5', null, 'al_2']);
    expect(await store.notifyChannels.redeliverDeadLetters('kafka', 50_000)).toEqual({ kafka: 0, alertmanager: 0 });
    expect(await redis.xlen(names.alerts.outbox)).toBe(2);

    expect(await store.notifyChannels.redeliverDeadLetters(undefined, 60_000)).toEqual({ kafka: 0, alertmanager: 1 });
    // The claimed case (due at its lease end) is due now, and a new rejection will be dead-lettered again.
    expect(await store.notifyChannels.nextSend('cs_2')).toBe(60_000);
    expect((await store.notifyChannels.getCase('cs_2'))?.rejected).toBe(false);
    expect((await store.notifyChannels.listDeadLetters()).map((l) => l.alertId)).toEqual(['al_5', null]);
  });
});

describe('Alertmanager schedule (track-case-3, release-case-1)', () => {
  it('makes a case due now, moves a later time forward but never back, and tells open from closed by all its alerts', async () => {
    for (const a of [alert('al_a', 'open'), alert('al_b', 'resolved')]) await redis.set(names.alerts.record(a.id), JSON.stringify(a));
    await store.notifyChannels.trackCase('cs_1', key, 'al_a', 1_000);
    await store.notifyChannels.trackCase('cs_1', key, 'al_b', 5_000);
    expect(await store.notifyChannels.nextSend('cs_1')).toBe(1_000);
    expect(await store.notifyChannels.getCase('cs_1')).toEqual({ ...key, lastLabels: null, failures: 0, rejected: false });
    const state = await store.notifyChannels.caseState<{ id: string; status: string }>('cs_1');
    expect(state.open).toBe(true);
    expect(state.alerts.map((a) => a.id).sort()).toEqual(['al_a', 'al_b']);

    await redis.set(names.alerts.record('al_a'), JSON.stringify(alert('al_a', 'false_positive')));
    expect((await store.notifyChannels.caseState('cs_1')).open).toBe(false);
  });

  it('releases a claim to a new time or off the schedule, unless the case was made due again meanwhile', async () => {
    await store.notifyChannels.trackCase('cs_2', key, 'al_a', 1_000);
    expect(await store.notifyChannels.claimDueCases(1_000, 9_000, 10)).toEqual(['cs_2']);
    expect(await store.notifyChannels.claimDueCases(1_000, 9_000, 10)).toEqual([]);
    expect(await store.notifyChannels.releaseCase('cs_2', 9_000, 61_000)).toBe(true);
    expect(await store.notifyChannels.nextSend('cs_2')).toBe(61_000);

    expect(await store.notifyChannels.claimDueCases(61_000, 70_000, 10)).toEqual(['cs_2']);
    // A status change arrives while the send is in flight: the release must not drop it.
    await store.notifyChannels.trackCase('cs_2', key, 'al_a', 62_000);
    expect(await store.notifyChannels.releaseCase('cs_2', 70_000, null)).toBe(false);
    expect(await store.notifyChannels.nextSend('cs_2')).toBe(62_000);
    expect(await store.notifyChannels.claimDueCases(62_000, 80_000, 10)).toEqual(['cs_2']);
    expect(await store.notifyChannels.releaseCase('cs_2', 80_000, null)).toBe(true);
    expect(await store.notifyChannels.nextSend('cs_2')).toBeNull();
  });

  it('keeps channel dead letters newest first', async () => {
    const letter = (n: number) => ({ channel: 'alertmanager', reason: 'alertmanager_rejected', at: new Date(n).toISOString(), alertId: `al_${n}`, caseId: 'cs_1', entryId: null, error: 'HTTP 400' });
    await store.notifyChannels.deadLetter(letter(1));
    await store.notifyChannels.deadLetter(letter(2));
    expect((await store.notifyChannels.listDeadLetters()).map((l) => l.alertId)).toEqual(['al_2', 'al_1']);
  });
});
