import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, freshPrefix, freshTopics, testKafka, testRedis } from '@flopwatch/test-harness';

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
