import { describe, expect, it } from 'vitest';
import { usageEvent, uniqueId, waitFor } from '@flopwatch/test-harness';
import { alertId, caseId, type Alert, type UsageEvent } from '@flopwatch/contracts';
import { createStore } from '@flopwatch/store';
import { caughtUp, defaultPack, encode, ingestTestEnv, startIngest, testProducer, testTopics } from './helpers.js';

const { cleanups, env } = ingestTestEnv();

const HOUR = 3_600_000;
// Two single-level rules every tenant below crosses; the others are switched off, so the alerts
// expected are exactly tenants × these two.
const RULES = ['large-untrusted-cluster', 'unverified-at-scale'] as const;
const pack = defaultPack();
for (const rule of Object.keys(pack.rules) as (keyof typeof pack.rules)[]) {
  if (!(RULES as readonly string[]).includes(rule)) pack.rules[rule] = { ...pack.rules[rule], enabled: false } as never;
}

describe('an alert storm through two ingest instances', () => {
  it('raises every alert of 10,600 unregistered tenants past two rules, each with its case and audit entry, and the chain verifies once sealed', async () => {
    const started = performance.now();
    const topics = await testTopics();
    const { store, redis, prefix, keys } = env();
    const groupId = uniqueId('burst');
    const TENANTS = 10_600;
    // One hour on 60,000 H100s at 50 % tensor-active: 989.4e12 × 3,600 × 0.5 × 60,000 ≈ 1.07e23
    // operations (past unverified-at-scale's 1e23) held at once (past large-untrusted-cluster's
    // 1,699 H100e), by a tenant with no KYC record (unknown: neither verified nor trusted).
    const start = Math.floor(Date.now() / HOUR) * HOUR - 10 * HOUR;
    const events = Array.from({ length: TENANTS }, (_, i) => usageEvent({ tenantId: `storm-${i}`, jobId: `storm-${i}-run`, startMs: start, seconds: 3600, gpus: 60_000, tensorActive: 0.5, country: 'US' }) as UsageEvent);
    const tenants = events.map((e) => e.data.tenantId);

    const a = await startIngest({ topics, groupId, store, pack });
    cleanups.push(() => a.close());
    const b = await startIngest({ topics, groupId, store: createStore({ redis, prefix }), pack });
    cleanups.push(() => b.close());
    const { producer, close } = await testProducer();
    cleanups.push(close);
    await producer.send(topics.telemetry, encode(events));
    await waitFor(() => caughtUp(groupId, topics), { what: 'both instances to consume the burst', timeoutMs: 240_000 });
    // Whatever could not finish in a batch waits in the pending evaluations and is retried.
    await waitFor(async () => (await store.pendingEvaluations.depth()).count === 0, { what: 'pending evaluations to drain', timeoutMs: 120_000 });
    const consumedMs = performance.now() - started;

    const expected = tenants.length * RULES.length;
    expect(expected).toBe(21_200);
    const alertIds = tenants.flatMap((t) => RULES.map((rule) => alertId({ rule, scope: 'tenant', subject: t, level: 1 })));
    const caseIds = tenants.flatMap((t) => RULES.map((rule) => caseId({ rule, scope: 'tenant', subject: t })));
    expect(await redis.zcard(keys.alerts.index)).toBe(expected);
    const present = await store.alerts.existing(alertIds);
    expect(alertIds.filter((id) => !present.has(id))).toEqual([]);
    // Every case exists, holds its alert, and the newest tenant of the burst has both of its cases.
    const missingCases: string[] = [];
    for (let i = 0; i < caseIds.length; i += 1000) {
      const chunk = caseIds.slice(i, i + 1000);
      const records = await redis.mget(...chunk.map((id) => keys.cases.record(id)));
      records.forEach((r, j) => {
        if (r === null || (JSON.parse(r) as { alerts: unknown[] }).alerts.length !== 1) missingCases.push(chunk[j]!);
      });
    }
    expect(missingCases).toEqual([]);
    expect(await redis.zcard(keys.cases.index)).toBe(expected);
    const newest = (await Promise.all(RULES.map((rule) => store.alerts.get<Alert>(alertId({ rule, scope: 'tenant', subject: tenants.at(-1)!, level: 1 }))))).map((x) => x?.rule);
    expect(newest).toEqual([...RULES]);

    // Each case's opening entry exists once, sealed, and the chain verifies.
    const sealStarted = performance.now();
    await store.audit.seal();
    const sealMs = performance.now() - sealStarted;
    const verified = await store.audit.verify({});
    expect(verified).toMatchObject({ ok: true, checked: expected, firstSeq: 1, lastSeq: expected, broken: null, unsealed: 0, unconfirmed: [] });
    const opened = new Map<string, number>();
    for await (const e of store.audit.export({})) if (e.action === 'case.open') opened.set(e.object, (opened.get(e.object) ?? 0) + 1);
    expect(opened.size).toBe(expected);
    expect(caseIds.filter((id) => opened.get(`case:${id}`) !== 1)).toEqual([]);
    console.info(`alert burst: ${expected} alerts consumed and raised in ${(consumedMs / 1000).toFixed(1)} s, ${expected} entries sealed in ${(sealMs / 1000).toFixed(1)} s`);
  }, 480_000);
});
