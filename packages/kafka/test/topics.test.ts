import { afterAll, describe, expect, it } from 'vitest';
import { uniqueId } from '@flopwatch/test-harness';
import { deleteTopics, ensureTopics, KafkaPortError } from '../src/index.js';
import { testClient, testLogger } from './helpers.js';

describe('ensureTopics', () => {
  const { log, records } = testLogger();
  const kafka = testClient(log);
  afterAll(() => kafka.close());

  it('creates missing topics once and is a no-op the second time', async () => {
    const a = uniqueId('ensure-a');
    const b = uniqueId('ensure-b');
    const specs = [
      { topic: a, partitions: 3, configs: { 'retention.ms': '3600000' } },
      { topic: b, partitions: 1 },
    ];
    expect(await ensureTopics(kafka, specs)).toEqual({ created: [a, b], existing: [], underPartitioned: [] });
    expect(await ensureTopics(kafka, specs)).toEqual({ created: [], existing: [a, b], underPartitioned: [] });
  });

  it('deletes the topics that exist and ignores names that do not', async () => {
    const a = uniqueId('doomed');
    await ensureTopics(kafka, [{ topic: a, partitions: 1 }]);
    expect(await deleteTopics(kafka, [a, uniqueId('never-was')])).toEqual([a]);
    expect(await ensureTopics(kafka, [{ topic: a, partitions: 1 }])).toMatchObject({ created: [a] });
    await deleteTopics(kafka, [a]);
  });

  it('reports and warns about an existing topic with fewer partitions, without growing it', async () => {
    const topic = uniqueId('ensure-small');
    await ensureTopics(kafka, [{ topic, partitions: 1 }]);
    const result = await ensureTopics(kafka, [{ topic, partitions: 6 }]);
    expect(result).toEqual({ created: [], existing: [topic], underPartitioned: [{ topic, partitions: 1, requested: 6 }] });
    expect(records.some((r) => r.level === 'warn' && r.topic === topic && r.msg === 'topic has fewer partitions than configured')).toBe(true);
  });

  it('rejects invalid specs with a typed error', async () => {
    await expect(ensureTopics(kafka, [{ topic: 'bad topic!', partitions: 0 }])).rejects.toSatisfy(
      (e) => e instanceof KafkaPortError && e.code === 'KAFKA_OPTIONS' && /partitions/.test(e.message),
    );
  });
});
