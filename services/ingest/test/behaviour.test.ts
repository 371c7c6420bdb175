import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createKafkaClient } from '@flopwatch/kafka';
import { dropPrefix, kafkaBrokers, uniqueId, usageEvent, waitFor } from '@flopwatch/test-harness';
import type { Alert, UsageEvent } from '@flopwatch/contracts';
import type { Redis } from 'ioredis';
import { createKeys, jobShapeKeys, linkIdOf, suspectedGroupId, type Store } from '@flopwatch/store';
import { createIngest } from '../src/app.js';
import { caughtUp, encode, SLURM, silent, testProducer, testStore, testTopics } from './helpers.js';
import { HOUR, OPS_PER_H100_HOUR, kyc, packWithout } from './rules-scenario.js';

// Behavioural links through the real ingest: events on Kafka, the co-scheduling record in Redis, the
// ingest's own periodic analysis, suspected groups evaluated by structuring at their own severity.
// Expected figures are the test's arithmetic over the events it sends.

const MINUTE = 60_000;
const T = Math.floor(Date.now() / HOUR) * HOUR - 80 * HOUR;
const MODEL = 'nvidia-h100-sxm5-80gb';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A job of `hours` whole hours (one event per hour) or of `minutes` < 60 (one event). */
function job(tenantId: string, jobId: string, startMs: number, gpus: number, spanMs: number, extra: Partial<UsageEvent['data']> = {}): UsageEvent[] {
  const out: UsageEvent[] = [];
  for (let at = startMs; at < startMs + spanMs; at += HOUR) {
    const e = usageEvent({ tenantId, jobId, clusterId: 'cl-1', startMs: at, seconds: Math.min(HOUR, startMs + spanMs - at) / 1000, gpus, tensorActive: 0.5 }) as UsageEvent;
    Object.assign(e.data, extra);
    out.push(e);
  }
  return out;
}

interface Run {
  events: UsageEvent[];
  /** [tenant, job, startMin, endMin] as the record should keep them. */
  jobs: [string, string, number, number, string][];
}

function traffic(): Run {
  const r = rng(42);
  const events: UsageEvent[] = [];
  const jobs: Run['jobs'] = [];
  const add = (tenant: string, id: string, startMs: number, gpus: number, spanMs: number, extra: Partial<UsageEvent['data']> = {}) => {
    events.push(...job(tenant, id, startMs, gpus, spanMs, extra));
    jobs.push([tenant, id, Math.floor(startMs / MINUTE), Math.floor((startMs + spanMs) / MINUTE), `${MODEL}×${gpus}`]);
  };
  // Background: ten tenants, eight jobs each at random minutes over 60 hours, 8/16/32 GPUs, 10–59 minutes.
  for (let t = 0; t < 10; t++) {
    for (let j = 0; j < 8; j++) add(`bg-${t}`, `bg-${t}-${j}`, T + Math.floor(r() * 60 * 60) * MINUTE, [8, 16, 32][Math.floor(r() * 3)]!, (10 + Math.floor(r() * 50)) * MINUTE);
  }
  // Two shells run one job together six times: 450,000 GPUs for 4 h, shell-b starting a minute later.
  for (let i = 0; i < 6; i++) {
    add('shell-a', `sa-${i}`, T + i * 8 * HOUR, 450_000, 4 * HOUR);
    add('shell-b', `sb-${i}`, T + i * 8 * HOUR + MINUTE, 450_000, 4 * HOUR);
  }
  // Two independent tenants with the same traffic shape (six 4-hour 64-GPU jobs each) at independent times.
  for (let i = 0; i < 6; i++) {
    add('indep-a', `ia-${i}`, T + Math.floor(r() * 56 * 60) * MINUTE, 64, 4 * HOUR);
    add('indep-b', `ib-${i}`, T + Math.floor(r() * 56 * 60) * MINUTE, 64, 4 * HOUR);
  }
  // A checkpoint hand-off: ck-a writes a checkpoint, ck-b resumes from it under its own lineage.
  add('ck-a', 'cka-1', T + 70 * HOUR, 8, 30 * MINUTE, { lineage: { id: 'ck-a/model', parentId: null, checkpointOut: 'ck://run/step-1000' } });
  add('ck-b', 'ckb-1', T + 72 * HOUR, 8, 30 * MINUTE, { lineage: { id: 'ck-b/model', parentId: null, checkpointIn: 'ck://run/step-1000' } });
  return { events, jobs };
}

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!();
});

async function start(): Promise<{ store: Store; redis: Redis; keys: ReturnType<typeof createKeys>; send: (events: UsageEvent[]) => Promise<void> }> {
  const topics = await testTopics();
  const { redis, store, prefix } = testStore();
  const { producer, close: closeProducer } = await testProducer();
  const groupId = uniqueId('behaviour');
  const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('ingest'), logger: silent });
  const ingest = createIngest({
    kafka, store, pack: packWithout('velocity', 'large-untrusted-cluster'), slurm: SLURM, metricsRegistry: new Registry(), log: silent,
    topics: { ...topics, partitions: 3 }, groupId, maxMessageBytes: 1024 * 1024,
    behaviour: { intervalMs: 300, windowMinutes: 2, minMatches: 4, maxPValue: 1e-3, minHandoffs: 1, lookbackDays: 30, suspectedMaxSeverity: 'info' },
  });
  await ingest.start();
  open.push(async () => {
    await ingest.close();
    await kafka.close();
    await closeProducer();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });
  return {
    store,
    redis,
    keys: createKeys(prefix),
    send: async (events) => {
      await producer.send(topics.telemetry, encode(events));
      await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up', timeoutMs: 60_000 });
    },
  };
}

describe('behavioural links through the ingest', () => {
  it('records each job once, finds the co-scheduled shells and the checkpoint hand-off (not the independent pair), and evaluates the suspected group at its own severity', async () => {
    const { store, redis, keys, send } = await start();
    for (const id of ['shell-a', 'shell-b']) await store.registry.putTenant(kyc(id));
    const { events, jobs } = traffic();
    await send(events);

    // The record: one entry per job, its first and last minute, its shape.
    const recorded = (await store.jobShapes.jobs('cl-1')).map((j) => [j.tenantId, j.jobId, j.startMin, j.endMin, j.shape]);
    const sort = (rows: unknown[][]) => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(sort(recorded)).toEqual(sort(jobs.map(([t, j, s, e, shape]) => [t, `${j}`, s, e, shape])));
    expect(await store.jobShapes.clusters()).toEqual(['cl-1']);
    expect(jobShapeKeys(keys).start('cl-1')).toContain('{js:cl-1}');

    const shells = linkIdOf('shell-a', 'shell-b');
    const handoff = linkIdOf('ck-a', 'ck-b');
    await waitFor(async () => (await store.behaviourLinks.list()).length >= 2, { what: 'the analysis to store its links', timeoutMs: 20_000 });
    const links = await store.behaviourLinks.list();
    expect(links.map((l) => [l.id, l.status, l.evidence.reasons])).toEqual([[handoff, 'suspected', ['checkpoint-handoff']], [shells, 'suspected', ['co-scheduled']]]);

    // Shells: six matched pairs; chance mean 6·6·(2·2+1)/T over the cluster's observed minutes; 16 tenants → 120 pairs tested.
    const s = links.find((l) => l.id === shells)!.evidence;
    const starts = jobs.map((j) => j[2]);
    const period = Math.max(...starts) - Math.min(...starts) + 1;
    expect(s.matched).toBe(6);
    expect(s.matches.map((m) => [m.a.jobId, m.b.jobId])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [`sa-${i}`, `sb-${i}`]));
    expect(s.expected).toBeCloseTo((36 * 5) / period, 12);
    expect(s.pairsTested).toBe((16 * 15) / 2);
    expect(s.adjustedPValue).toBeLessThan(1e-3);
    const h = links.find((l) => l.id === handoff)!.evidence;
    expect(h.handoffs.map((x) => [x.parentTenantId, x.tenantId, x.checkpoint])).toEqual([['ck-a', 'ck-b', 'ck://run/step-1000']]);

    // The suspected group {shell-a, shell-b}: 6 jobs × 4 h × 450,000 H100s at 50 % each; together
    // 2 × that of 1e26 reaches the 25 % level no shell reached alone, raised at the cap (info) instead of low.
    const each = 6 * 4 * 450_000 * OPS_PER_H100_HOUR;
    expect(each / 1e26).toBeLessThan(0.25);
    expect((2 * each) / 1e26).toBeGreaterThanOrEqual(0.25);
    expect((2 * each) / 1e26).toBeLessThan(0.5);
    const group = suspectedGroupId(['shell-a', 'shell-b']);
    const alerts = async () => (await Promise.all((await redis.zrange(keys.alerts.index, 0, -1)).map((id) => store.alerts.get<Alert>(id)))).filter((a): a is Alert => a !== null);
    await waitFor(async () => (await alerts()).some((a) => a.subject === group), { what: 'structuring on the suspected group', timeoutMs: 20_000 });
    const onGroup = (await alerts()).filter((a) => a.subject === group).map((a) => [a.rule, a.scope, a.level, a.severity]);
    expect(onGroup).toEqual([['structuring', 'group', 0.25, 'info']]);
    expect((await alerts()).find((a) => a.subject === group)!.kyc?.reasons[0]).toMatch(/suspected links shell-a~shell-b/);

    // Dismissed: audited, and it stays dismissed through later analyses; the group no longer stands.
    await store.behaviourLinks.decide(shells, 'dismissed', 'analyst@example.org', { note: 'same customer, two teams' });
    const seen = (await store.behaviourLinks.get(shells))!.evidence.lastSeenAt;
    await waitFor(async () => (await store.behaviourLinks.get(shells))!.evidence.lastSeenAt !== seen, { what: 'a later analysis', timeoutMs: 20_000 });
    expect((await store.behaviourLinks.get(shells))!.status).toBe('dismissed');
    expect((await store.behaviourLinks.groups()).map((g) => g.members)).toEqual([['ck-a', 'ck-b']]);
    const audit = await store.audit.list({ object: `behaviour-link:${shells}`, limit: 10 });
    expect(audit.entries.map((e) => [e.actor, e.action, (e.after as { status: string }).status])).toEqual([['analyst@example.org', 'behaviour-link.dismiss', 'dismissed']]);
  });
});
