import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, freshPrefix, freshTopics, testKafka, testRedis } from '@flopwatch/test-harness';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('the test infrastructure', () => {
  const redis = testRedis();
  const prefix = freshPrefix('smoke');
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('round-trips a CloudEvent through a real Kafka topic and a value through a real Redis', async () => {
    const [topic] = await freshTopics(['smoke'], { numPartitions: 1 });
    const kafka = testKafka();
    const event = {
      specversion: '1.0',
      type: 'io.flopwatch.gpu.usage.v1',
      source: 'test://smoke',
      id: `smoke-${prefix}`,
      time: new Date().toISOString(),
      subject: 'tenant-smoke',
      data: { tenantId: 'tenant-smoke' },
    };
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, messages: [{ key: event.subject, value: JSON.stringify(event) }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<{ key: string; value: typeof event }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve({ key: message.key?.toString() ?? '', value: JSON.parse(message.value?.toString() ?? 'null') });
        },
      });
    });
    await consumer.disconnect();
    expect(received.key).toBe('tenant-smoke');
    expect(received.value).toEqual(event);

    await redis.set(`${prefix}last-event`, received.value.id);
    expect(await redis.get(`${prefix}last-event`)).toBe(event.id);
  });
});

describe('the launcher scripts (pnpm infra:up, infra:status, infra:down)', () => {
  // Under Node 24, kafkajs's request-queue timer (kafkajs#1751) made the launcher print a
  // TimeoutNegativeWarning whenever it probed a broker; the scripts start it with that one warning
  // disabled. `infra:status` probes the launcher's own broker and changes nothing. Under Node 20 the
  // warning does not exist, so this test bites in CI's Node 24 run.
  it('report on stdout and print nothing on stderr', () => {
    const r = spawnSync('pnpm', ['--silent', 'run', 'infra:status'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('[infra] kafka');
    expect(r.stdout).toContain('[infra] redis');
    expect(r.stderr).toBe('');
  }, 120_000);
});
