// `ingest` keys bound to clusters and CloudEvents sources (API_KEYS): the real API over the real broker.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testKafka, usageEvent } from '@flopwatch/test-harness';
import { hashKey, parseApiKeys } from '../src/auth.js';
import { auth, consumeAll, startApi, type TestApi } from './helpers.js';

const CLUSTER_A = 'k-cluster-a-0001';
const SITE_1 = 'k-site-1-0001';
const BOTH = 'k-both-0001';
const UNBOUND = 'k-unbound-0001';
const extraKeys = [
  `ingest:slurm-a:${hashKey(CLUSTER_A)} cluster=cluster-a`,
  `ingest:site-1:${hashKey(SITE_1)} source=collector://site-1/`,
  `ingest:both:${hashKey(BOTH)} cluster=cluster-a cluster=cluster-c source=slurm://`,
  `ingest:legacy:${hashKey(UNBOUND)}`,
].join('\n');

let api: TestApi;
beforeEach(async () => {
  api = await startApi({ extraKeys });
});
afterEach(async () => api?.close());

const hourAgo = () => Date.now() - 3_600_000;
const post = (key: string | { authorization: string }, payload: unknown) =>
  api.app.inject({
    method: 'POST',
    url: '/v1/telemetry',
    headers: { ...(typeof key === 'string' ? { authorization: `Bearer ${key}` } : key), 'content-type': 'application/cloudevents-batch+json' },
    payload: JSON.stringify(payload),
  });

/** Messages on the topic: the sum of its partitions' end offsets, read from the broker. */
async function messagesOn(topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('POST /v1/telemetry with bound ingest keys', () => {
  it('refuses a batch with an event of another cluster whole (403 naming it), sends nothing, and passes the key’s own cluster', async () => {
    const own = usageEvent({ tenantId: 'sc-a', jobId: '1', startMs: hourAgo(), seconds: 60, clusterId: 'cluster-a' });
    const other = usageEvent({ tenantId: 'sc-b', jobId: '2', startMs: hourAgo(), seconds: 60, clusterId: 'cluster-b' });
    const refused = await post(CLUSTER_A, [own, other]);
    expect(refused.statusCode).toBe(403);
    const { error } = refused.json();
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toContain('key slurm-a may not report for cluster cluster-b');
    expect(error.details).toEqual({
      key: 'slurm-a',
      refused: [{ index: 1, id: other.id, tenantId: 'sc-b', cluster: 'cluster-b', source: 'slurm://cluster-b', reason: 'cluster_not_allowed' }],
    });
    expect(await messagesOn(api.topic)).toBe(0);

    const accepted = await post(CLUSTER_A, [own]);
    expect(accepted.statusCode).toBe(202);
    expect(await messagesOn(api.topic)).toBe(1);
    expect((await consumeAll(api.topic, 1)).map((m) => JSON.parse(m.value))).toEqual([own]);
  });

  it('binds a key to source prefixes: another source is refused naming it', async () => {
    const own = usageEvent({ tenantId: 'sc-c', jobId: '3', startMs: hourAgo(), seconds: 60, clusterId: 'cluster-x', source: 'collector://site-1/dcgm' });
    const other = usageEvent({ tenantId: 'sc-c', jobId: '4', startMs: hourAgo(), seconds: 60, clusterId: 'cluster-x', source: 'collector://site-2/dcgm' });
    const refused = await post(SITE_1, [other, own, other]);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toContain('may not report for source collector://site-2/dcgm: 2 of 3 events refused');
    expect(refused.json().error.details.refused.map((r: { index: number; reason: string; source: string }) => [r.index, r.reason, r.source])).toEqual([
      [0, 'source_not_allowed', 'collector://site-2/dcgm'],
      [2, 'source_not_allowed', 'collector://site-2/dcgm'],
    ]);
    expect(await messagesOn(api.topic)).toBe(0);
    expect((await post(SITE_1, [own])).statusCode).toBe(202);
    expect(await messagesOn(api.topic)).toBe(1);
  });

  it('with clusters and sources both bound, an event must match both', async () => {
    const ok = [
      usageEvent({ tenantId: 'sc-d', jobId: '5', startMs: hourAgo(), seconds: 60, clusterId: 'cluster-a' }),
      usageEvent({ tenantId: 'sc-d', jobId: '6', startMs: hourAgo(), seconds: 60, clusterId: 'cluster-c' }),
    ];
    const wrongSource = usageEvent({ tenantId: 'sc-d', jobId: '7', startMs: hourAgo(), seconds: 60, clusterId: 'cluster-a', source: 'dcgm://cluster-a' });
    const wrongCluster = usageEvent({ tenantId: 'sc-d', jobId: '8', startMs: hourAgo(), seconds: 60, clusterId: 'cluster-b' });
    const refused = await post(BOTH, [...ok, wrongSource, wrongCluster]);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.details.refused.map((r: { index: number; reason: string }) => [r.index, r.reason])).toEqual([[2, 'source_not_allowed'], [3, 'cluster_not_allowed']]);
    expect(await messagesOn(api.topic)).toBe(0);
    expect((await post(BOTH, ok)).statusCode).toBe(202);
    expect(await messagesOn(api.topic)).toBe(2);
  });

  it('refuses an unbound ingest key for every event (safe default), while admin keys stay unbound', async () => {
    const event = usageEvent({ tenantId: 'sc-e', jobId: '9', startMs: hourAgo(), seconds: 60, clusterId: 'cluster-a' });
    const refused = await post(UNBOUND, [event]);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toContain('key legacy is bound to no cluster or source');
    expect(refused.json().error.details.refused).toEqual([{ index: 0, id: event.id, tenantId: 'sc-e', cluster: 'cluster-a', source: 'slurm://cluster-a', reason: 'unbound_key' }]);
    expect(await messagesOn(api.topic)).toBe(0);
    expect((await post(auth('admin'), [event])).statusCode).toBe(202);
    expect(await messagesOn(api.topic)).toBe(1);
  });

  it('checks the scope before the events: an out-of-scope event that is also invalid is still a 403', async () => {
    const bad = { ...usageEvent({ tenantId: 'sc-f', jobId: '10', startMs: hourAgo(), seconds: 60, clusterId: 'cluster-b' }), specversion: '0.3' };
    const res = await post(CLUSTER_A, [bad]);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.details.refused[0]).toMatchObject({ index: 0, cluster: 'cluster-b', reason: 'cluster_not_allowed' });
  });
});

describe('GET /v1/whoami of an ingest key', () => {
  it('shows what the key may report for', async () => {
    const whoami = async (key: string) => (await api.app.inject({ method: 'GET', url: '/v1/whoami', headers: { authorization: `Bearer ${key}` } })).json();
    expect(await whoami(BOTH)).toEqual({ name: 'both', role: 'ingest', reportsFor: { clusters: ['cluster-a', 'cluster-c'], sources: ['slurm://'] } });
    expect(await whoami(SITE_1)).toEqual({ name: 'site-1', role: 'ingest', reportsFor: { clusters: ['*'], sources: ['collector://site-1/'] } });
    expect(await whoami(UNBOUND)).toEqual({ name: 'legacy', role: 'ingest', reportsFor: { clusters: [], sources: [] } });
  });
});

describe('API_KEYS entries', () => {
  const hex = hashKey('k');
  it('keeps the old forms valid and reads the bounds of an ingest entry', () => {
    const [plain, named, bound, open] = parseApiKeys(`viewer:${hex}, ingest:old:${hex}\ningest:a:${hex}  cluster=c1 cluster=c2 source=s://x/ # comment\ningest:any:${hex} cluster=*`);
    expect(plain).toMatchObject({ role: 'viewer', name: `viewer-${hex.slice(0, 8)}` });
    expect(plain!.scope).toBeUndefined();
    expect(named).toMatchObject({ role: 'ingest', name: 'old', scope: null });
    expect(bound!.scope).toEqual({ clusters: new Set(['c1', 'c2']), sources: ['s://x/'] });
    expect(open!.scope).toEqual({ clusters: 'any', sources: 'any' });
  });

  it('refuses bounds on other roles and malformed bounds, naming the entry', () => {
    expect(() => parseApiKeys(`viewer:${hex}\nadmin:root:${hex} cluster=c1`)).toThrow('API key entry 2: only ingest keys take cluster= / source= bounds');
    expect(() => parseApiKeys(`ingest:a:${hex} tenant=t1`)).toThrow('API key entry 1: "tenant=t1" is not cluster=<id> or source=<prefix>');
  });
});
