import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { usageEvent, uniqueId, waitFor } from '@flopwatch/test-harness';
import { alertId, type UsageEvent } from '@flopwatch/contracts';
import { caughtUp, defaultPack, encode, ingestTestEnv, startIngest, testProducer, testTopics } from './helpers.js';

const { cleanups, env } = ingestTestEnv();
const HOUR = 3_600_000;
const pack = defaultPack();
for (const rule of Object.keys(pack.rules) as (keyof typeof pack.rules)[]) {
  if (rule !== 'unverified-at-scale') pack.rules[rule] = { ...pack.rules[rule], enabled: false } as never;
}

async function gauge(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values[0]?.value ?? NaN;
}

describe('pending evaluations', () => {
  it('keeps an evaluation that failed, retries it until it succeeds, and shows the depth rise and fall back to 0', async () => {
    const topics = await testTopics();
    const { store, redis, keys } = env();
    const groupId = uniqueId('pending');
    const registry = new Registry();
    // Retry pending evaluations after 300 ms instead of the default 30 s.
    const ingest = await startIngest({ topics, groupId, store, pack, registry, pendingEvaluationMinAgeMs: 300 });
    cleanups.push(() => ingest.close());
    const { producer, close } = await testProducer();
    cleanups.push(close);

    // The audit stream the alerts' case entries go to cannot be written (a Redis failure on every
    // attempt): the alert script refuses, and with it the whole evaluation.
    await redis.set(keys.audit.unsealed, 'not a stream');
    // Two finished jobs, each past unverified-at-scale (60,000 H100s × 1 h × 50 % ≈ 1.07e23 ≥ 1e23); they never report again.
    const start = Math.floor(Date.now() / HOUR) * HOUR - 10 * HOUR;
    const tenants = ['done-1', 'done-2'];
    await producer.send(topics.telemetry, encode(tenants.map((t) => usageEvent({ tenantId: t, jobId: `${t}-run`, startMs: start, seconds: 3600, gpus: 60_000, tensorActive: 0.5, country: 'US' }) as UsageEvent)));
    await waitFor(() => caughtUp(groupId, topics), { what: 'the batch to be consumed', timeoutMs: 60_000 });
    // The batch committed, without its alerts; the tenants wait as pending evaluations.
    await waitFor(async () => (await gauge(registry, 'flopwatch_ingest_pending_evaluations')) === tenants.length, { what: 'the depth gauge to show both tenants', timeoutMs: 20_000 });
    const ids = tenants.map((t) => alertId({ rule: 'unverified-at-scale', scope: 'tenant', subject: t, level: 1 }));
    expect([...(await store.alerts.existing(ids))]).toEqual([]);
    expect((await store.pendingEvaluations.depth()).count).toBe(tenants.length);

    // Redis recovers: the re-evaluation loop raises both alerts without any new telemetry.
    await redis.del(keys.audit.unsealed);
    await waitFor(async () => (await store.alerts.existing(ids)).size === ids.length, { what: 'the retried evaluations to raise both alerts', timeoutMs: 30_000 });
    await waitFor(async () => (await gauge(registry, 'flopwatch_ingest_pending_evaluations')) === 0, { what: 'the depth gauge to fall back to 0', timeoutMs: 20_000 });
    expect((await store.pendingEvaluations.depth()).count).toBe(0);
    const verified = await store.audit.verify({});
    expect(verified).toMatchObject({ ok: true, checked: 2, broken: null, unsealed: 0 });
  }, 120_000);
});
