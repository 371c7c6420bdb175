import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createProducer } from '@flopwatch/kafka';
import { DEFAULT_POLICY_PATH, loadPolicyPack } from '@flopwatch/policy';
import { createStore } from '@flopwatch/store';
import { dropPrefix, freshPrefix, freshTopics, kafkaBrokers, redisUrl, uniqueId } from '@flopwatch/test-harness';
import { startInProcessIngest } from '@flopwatch/ingest/in-process';
import { alertConcerns, loadScenario, planScenario, readAlerts, runScenarios, storeRegistrar } from '../src/index.js';

const EXPORT_CONTROL_RULES = ['frontier-approach', 'tenant-approach', 'structuring', 'lineage-laundering', 'parent-in-tier3', 'unverified-at-scale', 'large-untrusted-cluster', 'velocity'];

describe('scenarios through a real ingest', () => {
  const redis = new Redis(redisUrl(), { enableAutoPipelining: true });
  const prefix = freshPrefix('sim');
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('catches the loophole group (structuring, frontier) and raises nothing about the benign lab', async () => {
    const [telemetry, dlq] = await freshTopics(['sim-telemetry', 'sim-dlq']);
    const store = createStore({ redis, prefix });
    const log = pino({ level: 'silent' });
    const ingest = await startInProcessIngest({ brokers: kafkaBrokers(), store, pack: loadPolicyPack(DEFAULT_POLICY_PATH), log, topics: { telemetry, dlq, partitions: 3 }, groupId: uniqueId('sim') });
    const producer = createProducer(ingest.kafka, { idempotent: true, log });
    try {
      const now = new Date();
      const plans = ['loophole', 'benign'].map((n) => planScenario(loadScenario(n), now));
      const sent = await runScenarios({ plans, registrar: storeRegistrar(store), producer, topic: telemetry, compression: Infinity });
      expect(sent.sent).toBe(plans.reduce((n, p) => n + p.eventCount, 0));
      await ingest.drained({ timeoutMs: 170_000 });
    } finally {
      await producer.close();
      await ingest.close();
    }

    const alerts = await readAlerts(store);
    const shells = planScenario(loadScenario('loophole'), new Date()).tenants.map((t) => t.id);
    const structuring = alerts.filter((a) => a.rule === 'structuring');
    expect(structuring.map((a) => a.level)).toContain(1);
    expect(structuring.find((a) => a.level === 1)!.evidence.contributingTenants.map((t) => t.tenantId).sort()).toEqual([...shells].sort());
    const frontier = alerts.filter((a) => a.rule === 'frontier-approach');
    expect(frontier.map((a) => a.level)).toContain(1);
    expect(frontier.find((a) => a.level === 1)!.subject).toBe('aurora-16');
    // Split below the per-account levels: no account alone approaches the tenant threshold.
    expect(alerts.filter((a) => a.rule === 'tenant-approach')).toEqual([]);
    expect(alerts.filter((a) => alertConcerns(a, 'helios-labs') || a.subject === 'helios-3').filter((a) => EXPORT_CONTROL_RULES.includes(a.rule))).toEqual([]);
  }, 200_000);
});
