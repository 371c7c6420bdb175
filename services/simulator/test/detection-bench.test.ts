import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { densePeakFlops, findAccelerator } from '@flopwatch/catalog';
import { createProducer } from '@flopwatch/kafka';
import { DEFAULT_POLICY_PATH, loadPolicyPack } from '@flopwatch/policy';
import { createStore } from '@flopwatch/store';
import { dropPrefix, freshPrefix, freshTopics, kafkaBrokers, redisUrl, uniqueId } from '@flopwatch/test-harness';
import { startInProcessIngest } from '@flopwatch/ingest/in-process';
import { alertConcerns, buildHonest, buildStrategies, DAY_MS, HOUR_MS, readAlerts, readPodList, requirePodList, runDetectionBench, storeRegistrar } from '../src/index.js';

// A reduced `pnpm bench:detection`: the direct untrusted tenant, the region hop, and a tiny honest
// population whose first tenant is a verified Tier 1 lab training past 10^26 in the open.
describe('the evasion benchmark, reduced', () => {
  const redis = new Redis(redisUrl(), { enableAutoPipelining: true });
  const prefix = freshPrefix('detbench');
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('catches the direct tenant by its own arithmetic and opens no case on the honest frontier lab', async () => {
    const [telemetry, dlq] = await freshTopics(['detbench-telemetry', 'detbench-dlq']);
    const store = createStore({ redis, prefix });
    const pack = loadPolicyPack(DEFAULT_POLICY_PATH);
    const log = pino({ level: 'silent' });
    const ingest = await startInProcessIngest({ brokers: kafkaBrokers(), store, pack, log, topics: { telemetry, dlq, partitions: 3 }, groupId: uniqueId('detbench') });
    const producer = createProducer(ingest.kafka, { idempotent: true, log });
    const days = 40;
    const endMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - HOUR_MS;
    const strategies = buildStrategies(['direct', 'region-hop'], endMs, days);
    const honest = buildHonest(readPodList(requirePodList()), 4, endMs, days);
    let out: Awaited<ReturnType<typeof runDetectionBench>>;
    try {
      out = await runDetectionBench({ store, registrar: storeRegistrar(store), producer, topic: telemetry, drained: () => ingest.drained({ timeoutMs: 170_000 }), pack, strategies, honest, stepMs: DAY_MS });
    } finally {
      await producer.close();
      await ingest.close();
    }

    // The direct run's figures from its own inputs: GPUs × seconds × the H100's dense bf16 peak × tensor-active.
    const direct = strategies.find((s) => s.id === 'direct')!;
    const job = direct.jobs[0]!;
    expect(job.utilization.profile).toBe('constant');
    const util = job.utilization.profile === 'constant' ? job.utilization.value : NaN;
    const opsPerHour = job.gpus * 3600 * densePeakFlops(findAccelerator(job.accelerator)!, 'bf16') * util;
    const crossingMs = job.startMs + Math.ceil(1e26 / opsPerHour) * HOUR_MS;
    const result = out.strategies.find((s) => s.id === 'direct')!;
    expect(result.crossingMs).toBe(crossingMs);
    expect(result.caught).toBe(true);
    // More H100s held at once than the LPP limit, and untrusted (HQ outside Tier 1): both rules fire before the crossing.
    expect(job.gpus).toBeGreaterThan(pack.rules['large-untrusted-cluster'].maxH100e);
    expect(result.rules.map((r) => r.rule)).toEqual(expect.arrayContaining(['large-untrusted-cluster', 'tenant-approach']));
    // tenant-approach's first actionable level (the pack's first above info): reached no earlier, and
    // read within one day's step after it.
    const actionable = pack.levels.find((l) => l.severity !== 'info')!.fraction;
    const tenantApproach = result.rules.find((r) => r.rule === 'tenant-approach')!.fraction;
    expect(tenantApproach).toBeGreaterThanOrEqual(actionable);
    expect(tenantApproach).toBeLessThanOrEqual(actionable + (opsPerHour * 24) / 1e26 + 1e-9);
    const f = result.first!;
    expect(f.eventMs).toBeLessThan(crossingMs);
    expect(f.fraction).toBeCloseTo((opsPerHour * Math.min((f.eventMs - job.startMs) / HOUR_MS, (job.endMs - job.startMs) / HOUR_MS)) / 1e26, 6);
    expect(f.daysBeforeCrossing).toBeCloseTo((crossingMs - f.eventMs) / DAY_MS, 9);
    // The first alert is read after the first step that holds the run's first report (steps are one day).
    expect(f.eventMs - job.startMs).toBeLessThanOrEqual(2 * DAY_MS);

    // The honest frontier lab (verified, US, owners in the US) trains past 10^26 and raises nothing.
    const lab = honest[0]!;
    expect(lab.kind).toBe('frontier-lab');
    const labOps = lab.jobs.reduce((n, j) => n + j.gpus * ((j.endMs - j.startMs) / 1000) * densePeakFlops(findAccelerator(j.accelerator)!, 'bf16') * (j.utilization.profile === 'constant' ? j.utilization.value : 0), 0);
    expect(labOps).toBeGreaterThan(1e26);
    const alerts = await readAlerts(store);
    expect(alerts.filter((a) => alertConcerns(a, lab.tenant.id))).toEqual([]);
    expect(out.honest.tier1LabCases).toBe(0);
    // Every alert about the direct tenant is in the bench's bookkeeping, and no honest case counts it.
    expect(alerts.filter((a) => alertConcerns(a, direct.accounts[0]!)).length).toBeGreaterThanOrEqual(result.rules.length);
    expect(out.honest.tenants).toBe(4);
  }, 240_000);
});
