import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usageEvent } from '@flopwatch/test-harness';
import { auth, consumeAll, startApi, type TestApi } from './helpers.js';

let api: TestApi;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => api?.close());

const hourAgo = () => Date.now() - 3_600_000;
const post = (payload: unknown, contentType = 'application/cloudevents-batch+json') =>
  api.app.inject({ method: 'POST', url: '/v1/telemetry', headers: { ...auth('ingest'), 'content-type': contentType }, payload: JSON.stringify(payload) });

describe('POST /v1/telemetry', () => {
  it('produces an accepted batch to the telemetry topic, keyed by tenant', async () => {
    const events = [usageEvent({ tenantId: 'tel-a', jobId: '1', startMs: hourAgo(), seconds: 60 }), usageEvent({ tenantId: 'tel-b', jobId: '2', startMs: hourAgo(), seconds: 60 })];
    const res = await post(events);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 2, results: [{ index: 0, id: events[0]!.id, status: 'accepted' }, { index: 1, status: 'accepted' }] });
    const got = await consumeAll(api.topic, 2);
    expect(got.map((m) => m.key).sort()).toEqual(['tel-a', 'tel-b']);
    expect(got.map((m) => JSON.parse(m.value)).sort((x, y) => x.data.tenantId.localeCompare(y.data.tenantId))).toEqual(events);
  });

  it('takes one structured CloudEvent', async () => {
    const event = usageEvent({ tenantId: 'tel-c', jobId: '3', startMs: hourAgo(), seconds: 60 });
    const res = await post(event, 'application/cloudevents+json');
    expect(res.statusCode).toBe(202);
    expect((await consumeAll(api.topic, 1)).map((m) => m.key)).toEqual(['tel-c']);
  });

  it('rejects a batch with invalid events whole, naming each, and sends nothing', async () => {
    const good = usageEvent({ tenantId: 'tel-d', jobId: '4', startMs: hourAgo(), seconds: 60 });
    const unknownModel = usageEvent({ tenantId: 'tel-d', jobId: '5', startMs: hourAgo(), seconds: 60, model: 'acme-tpu-9000' });
    const badCount = { ...good, id: 'bad-count', data: { ...good.data, accelerator: { ...good.data.accelerator, count: 'many' } } };
    const future = usageEvent({ tenantId: 'tel-d', jobId: '6', startMs: Date.now() + 86_400_000, seconds: 60 });
    const res = await post([good, unknownModel, badCount, future], 'application/json');
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('INVALID_EVENTS');
    expect(error.details.results.map((r: { status: string; reason?: string }) => r.reason ?? r.status)).toEqual(['accepted', 'unknown_accelerator', 'schema_violation', 'interval_in_future']);
    expect(error.details.results[2].message).toContain('data.accelerator.count');
    expect(await consumeAll(api.topic, 1, 3_000)).toEqual([]);
  });

  it('rejects an empty batch and a body that is not an event or array', async () => {
    expect((await post([])).statusCode).toBe(400);
    const res = await post('just a string', 'application/json');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.fields).toEqual(['body']);
  });

  it('answers 503 naming the topic when the telemetry topic does not exist, and sends nothing', async () => {
    const missing = await startApi({ telemetryTopic: `missing-${Date.now().toString(36)}` });
    try {
      const event = usageEvent({ tenantId: 'tel-z', jobId: '9', startMs: hourAgo(), seconds: 60 });
      const res = await missing.app.inject({ method: 'POST', url: '/v1/telemetry', headers: { ...auth('ingest'), 'content-type': 'application/cloudevents+json' }, payload: JSON.stringify(event) });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.message).toMatch(/telemetry topic missing-\w+ does not exist/);
    } finally {
      await missing.close();
    }
  });
});
