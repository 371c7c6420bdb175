import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { DEFAULT_POLICY_PATH, loadPolicyPack } from '@flopwatch/policy';
import { createStore } from '@flopwatch/store';
import { startInProcessIngest } from '@flopwatch/ingest/in-process';
import { DEFAULT_TRACE_ACCELERATOR, DEFAULT_TRACE_OPTIONS, parsePodList, replayTrace, requirePodList } from '@flopwatch/simulator';
import { dropPrefix, freshPrefix, kafkaBrokers, redisUrl, uniqueId } from '@flopwatch/test-harness';
import { readFileSync } from 'node:fs';
import { expectedBooks, readRows } from './ground-truth.js';

// The first 500 pods include months-long services (475,000 reports at 300 s); pods 1000-1499 are a
// mix of short and long jobs that replays in seconds. `pnpm replay:trace` replays all 8,152.
const FROM = 1000;
const COUNT = 500;

describe('replay of the Alibaba GPU trace (cluster-trace-gpu-v2023)', () => {
  const redis = new Redis(redisUrl(), { enableAutoPipelining: true });
  const prefix = freshPrefix('replay');
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('books every tenant the GPU-seconds and operations computed straight from the CSV', async () => {
    const pack = loadPolicyPack(DEFAULT_POLICY_PATH);
    // The trace is not shipped (research-use terms): FLOPWATCH_DATA_DIR or ../shared/data; a clear error otherwise.
    const podList = requirePodList();
    const pods = parsePodList(readFileSync(podList, 'utf8')).slice(FROM, FROM + COUNT);
    const result = await replayTrace({
      startIngest: startInProcessIngest,
      pods,
      options: DEFAULT_TRACE_OPTIONS,
      brokers: kafkaBrokers(),
      store: createStore({ redis, prefix }),
      pack,
      log: pino({ level: 'silent' }),
      topics: { telemetry: uniqueId('trace'), dlq: uniqueId('trace-dlq'), partitions: 3 },
      groupId: uniqueId('replay'),
    });

    const expected = expectedBooks(readRows(podList, FROM, COUNT), {
      tenants: DEFAULT_TRACE_OPTIONS.tenants,
      intervalSeconds: DEFAULT_TRACE_OPTIONS.intervalSeconds,
      precision: DEFAULT_TRACE_OPTIONS.precision,
      utilization: pack.utilization.default,
      acceleratorId: DEFAULT_TRACE_ACCELERATOR,
    });
    expect(result.conversion.jobs.length).toBeGreaterThan(300);
    expect([...expected.values()].every((b) => b.teraOps > 0 && b.gpuMicroseconds > 0)).toBe(true);
    expect([...result.books.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(Object.fromEntries(result.books)).toEqual(Object.fromEntries(expected));
  }, 180_000);
});
