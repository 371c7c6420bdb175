// POST /v1/telemetry against a telemetry topic with a small max.message.bytes: a large batch goes
// through in several Kafka requests; an event no request can carry is refused with 413, naming it.
import { afterEach, describe, expect, it } from 'vitest';
import { createKafkaClient, readTopicRange, type ConsumedMessage } from '@flopwatch/kafka';
import { freshTopics, kafkaBrokers, uniqueId, usageEvent } from '@flopwatch/test-harness';
import { auth, silent, startApi, type TestApi } from './helpers.js';

const LIMIT = 32_768;
let api: TestApi | undefined;
afterEach(async () => api?.close());

async function smallTopicApi(): Promise<{ api: TestApi; topic: string }> {
  const [topic] = await freshTopics(['telemetry-small'], { configEntries: [{ name: 'max.message.bytes', value: String(LIMIT) }] });
  // A body limit above the batch's size: the topic, not the HTTP limit, is what this tests.
  api = await startApi({ telemetryTopic: topic, limits: { bodyLimit: 4 * 1024 * 1024 } });
  return { api, topic };
}

/** Every message the topic holds now (to its end offsets): an exact count, no waiting. */
async function onTopic(topic: string): Promise<ConsumedMessage[]> {
  const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('reader'), logger: silent });
  try {
    const got: ConsumedMessage[] = [];
    await readTopicRange(kafka, { topic, onMessages: async (_p, m) => void got.push(...m) });
    return got;
  } finally {
    await kafka.close();
  }
}

const hourAgo = () => Date.now() - 3_600_000;
/** A valid event with `labels` labels of 200 characters each (labels are how a real event grows). */
const labelled = (i: number, labels: number) => {
  const e = usageEvent({ tenantId: `big-${i % 4}`, jobId: `job-${i}`, startMs: hourAgo(), seconds: 60 });
  return { ...e, data: { ...e.data, labels: Object.fromEntries(Array.from({ length: labels }, (_, l) => [`label-${l}`, 'v'.repeat(200)])) } };
};
const post = (app: TestApi, events: unknown[]) =>
  app.app.inject({ method: 'POST', url: '/v1/telemetry', headers: { ...auth('ingest'), 'content-type': 'application/cloudevents-batch+json' }, payload: JSON.stringify(events) });

describe('POST /v1/telemetry and the topic limit', () => {
  it('accepts a batch far above the topic limit (202) and puts every event on the topic once', async () => {
    const { api, topic } = await smallTopicApi();
    const events = Array.from({ length: 1000 }, (_, i) => labelled(i, 4));
    const bytes = events.reduce((s, e) => s + JSON.stringify(e).length, 0);
    expect(bytes).toBeGreaterThan(20 * LIMIT);
    const res = await post(api, events);
    expect(res.statusCode).toBe(202);
    expect(res.json().accepted).toBe(events.length);
    const got = await onTopic(topic);
    expect(got).toHaveLength(events.length);
    expect(new Set(got.map((m) => JSON.parse(m.value!.toString()).id))).toEqual(new Set(events.map((e) => e.id)));
  });

  it('refuses a batch with an event larger than any request with 413 naming it, and sends none of the batch', async () => {
    const { api, topic } = await smallTopicApi();
    const small = labelled(1, 1);
    const big = labelled(2, 200); // 200 labels × 200 characters: over 40,000 bytes
    expect(JSON.stringify(big).length).toBeGreaterThan(LIMIT);
    const res = await post(api, [small, big, labelled(3, 1)]);
    expect(res.statusCode).toBe(413);
    const { error } = res.json();
    expect(error.code).toBe('EVENT_TOO_LARGE');
    expect(error.details).toMatchObject({ limit: LIMIT, sent: 0, events: [{ index: 1, id: big.id, tenantId: big.data.tenantId }] });
    expect(error.details.events[0].bytes).toBeGreaterThan(LIMIT);
    expect(error.message).toMatch(/event\[1\]/);
    expect(await onTopic(topic)).toEqual([]);

    // The same batch without the big event goes through.
    expect((await post(api, [small, labelled(3, 1)])).statusCode).toBe(202);
    expect(await onTopic(topic)).toHaveLength(2);
  });
});
