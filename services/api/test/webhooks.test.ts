import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { auth, startApi, type TestApi } from './helpers.js';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

const create = (body: object, role: 'admin' | 'analyst' = 'admin') => api.app.inject({ method: 'POST', url: '/v1/webhooks', headers: auth(role), payload: body });

describe('webhook routes', () => {
  it('registers an endpoint, shows its secret once, and lists it without the secret', async () => {
    const res = await create({ url: 'https://93.184.216.34/hooks/flopwatch', description: 'case mgmt', filter: { minSeverity: 'high' } });
    expect(res.statusCode).toBe(201);
    const created = res.json<{ id: string; secret: string; filter: { minSeverity: string } }>();
    expect(created.secret).toMatch(/^whsec_/);
    expect(() => new Webhook(created.secret)).not.toThrow();
    expect(created.filter.minSeverity).toBe('high');

    const list = await api.app.inject({ method: 'GET', url: '/v1/webhooks', headers: auth('viewer') });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain('whsec_');
    expect(list.json<{ webhooks: { id: string }[] }>().webhooks.map((w) => w.id)).toContain(created.id);
    const one = await api.app.inject({ method: 'GET', url: `/v1/webhooks/${created.id}`, headers: auth('viewer') });
    expect(one.json()).toMatchObject({ id: created.id, failingSince: null, disabled: null });
  });

  it('shows a URL that may carry a token whole to admins only, and keeps it masked in the audit trail', async () => {
    const url = 'https://93.184.216.34/services/T0001/B0002/s3cr3t-t0ken?token=abc';
    const { id } = (await create({ url })).json<{ id: string }>();
    const admin = await api.app.inject({ method: 'GET', url: `/v1/webhooks/${id}`, headers: auth('admin') });
    expect(admin.json().url).toBe(url);
    for (const role of ['viewer', 'analyst'] as const) {
      const one = await api.app.inject({ method: 'GET', url: `/v1/webhooks/${id}`, headers: auth(role) });
      expect(one.json().url).toMatch(/^https:\/\/93\.184\.216\.34\/… \(sha256:[0-9a-f]{12}\)$/);
      const list = await api.app.inject({ method: 'GET', url: '/v1/webhooks', headers: auth(role) });
      expect(list.body).not.toContain('s3cr3t');
    }
    expect((await api.app.inject({ method: 'DELETE', url: `/v1/webhooks/${id}`, headers: auth('admin') })).statusCode).toBe(204);
    const audit = await api.app.inject({ url: `/v1/audit?object=webhook:${id}`, headers: auth('admin') });
    expect(audit.json().entries.map((e: { action: string }) => e.action)).toEqual(['webhook.delete', 'webhook.create']);
    expect(audit.body).not.toContain('s3cr3t');
    expect(audit.body).not.toContain('token=abc');
    const exported = await api.app.inject({ url: '/v1/audit/export', headers: auth('admin') });
    expect(exported.statusCode).toBe(200);
    expect(exported.body).toContain(`webhook:${id}`);
    expect(exported.body).not.toContain('s3cr3t');
  });

  it.each([
    ['https://127.0.0.1/hook', /127\.0\.0\.1 is in a loopback range/],
    ['https://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is in a linkLocal range/],
    ['https://10.0.0.8/hook', /10\.0\.0\.8 is in a private range/],
    ['https://[fd00::1]/hook', /uniqueLocal/],
    ['http://93.184.216.34/hook', /must use https/],
  ])('refuses %s with a clear 400', async (url, message) => {
    const res = await create({ url });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(message), details: { field: 'url' } } });
  });

  it('lets only admins change endpoints', async () => {
    expect((await create({ url: 'https://93.184.216.34/x' }, 'analyst')).statusCode).toBe(403);
    expect((await api.app.inject({ method: 'GET', url: '/v1/webhooks' })).statusCode).toBe(401);
  });

  it('queues a test message, rotates the secret, lists and redelivers a dead letter, and deletes', async () => {
    const { id, secret } = (await create({ url: 'https://93.184.216.34/hook' })).json<{ id: string; secret: string }>();
    const test = await api.app.inject({ method: 'POST', url: `/v1/webhooks/${id}/test`, headers: auth('admin') });
    expect(test.statusCode).toBe(202);
    const { deliveryId, messageId } = test.json<{ deliveryId: string; messageId: string }>();
    const deliveries = await api.app.inject({ method: 'GET', url: `/v1/webhooks/${id}/deliveries`, headers: auth('viewer') });
    expect(deliveries.json()).toMatchObject({ deliveries: [{ id: deliveryId, messageId, eventType: 'webhook.test', status: 'pending' }] });

    const rotated = await api.app.inject({ method: 'POST', url: `/v1/webhooks/${id}/rotate-secret`, headers: auth('admin'), payload: { graceSeconds: 3600 } });
    expect(rotated.statusCode).toBe(200);
    const newSecret = rotated.json<{ secret: string }>().secret;
    expect(await api.store.webhooks.signingSecrets(id)).toEqual([newSecret, secret]);

    // Make it a dead letter the way the notifier would after its last attempt.
    const d = (await api.store.webhooks.getDelivery(deliveryId))!;
    await api.store.webhooks.settle({ delivery: d, outcome: 'dead', now: Date.now(), attempt: { at: new Date().toISOString(), status: 500, durationMs: 3, outcome: 'dead', error: 'HTTP 500', response: '' }, reachedEndpoint: true });
    const dead = await api.app.inject({ method: 'GET', url: `/v1/webhooks/dead-letters?endpointId=${id}`, headers: auth('viewer') });
    expect(dead.json()).toMatchObject({ deliveries: [{ id: deliveryId, status: 'dead', lastStatus: 500 }] });
    const redeliver = await api.app.inject({ method: 'POST', url: `/v1/webhooks/deliveries/${deliveryId}/redeliver`, headers: auth('admin') });
    expect(redeliver.statusCode).toBe(202);
    expect(redeliver.json()).toMatchObject({ id: deliveryId, messageId, status: 'pending' });
    const again = await api.app.inject({ method: 'POST', url: `/v1/webhooks/deliveries/${deliveryId}/redeliver`, headers: auth('admin') });
    expect(again.statusCode).toBe(409);

    expect((await api.app.inject({ method: 'DELETE', url: `/v1/webhooks/${id}`, headers: auth('admin') })).statusCode).toBe(204);
    expect((await api.app.inject({ method: 'GET', url: `/v1/webhooks/${id}`, headers: auth('viewer') })).statusCode).toBe(404);
  });
});

describe('dead letters of a disabled endpoint', () => {
  it('lists them with reason endpoint_disabled and redelivers them all once the endpoint is enabled again', async () => {
    const { id } = (await create({ url: 'https://93.184.216.34/parked' })).json<{ id: string }>();
    await api.store.webhooks.disableEndpoint(id, 'failing without a successful delivery');
    // Queued the way the notifier's fan-out does while the endpoint is disabled.
    const queued = await Promise.all(['msg_p1', 'msg_p2'].map((messageId) => api.store.webhooks.enqueue({ endpointId: id, messageId, eventType: 'alert.raised', alertId: 'al_p', body: '{}', deadReason: 'endpoint_disabled' })));
    const dead = await api.app.inject({ method: 'GET', url: `/v1/webhooks/dead-letters?endpointId=${id}`, headers: auth('viewer') });
    expect(dead.statusCode).toBe(200);
    const listed = dead.json<{ deliveries: { id: string; status: string; deadReason: string; attempts: number }[] }>().deliveries;
    expect(listed.map((d) => d.id).sort()).toEqual(queued.map((q) => q.id).sort());
    expect(listed.every((d) => d.status === 'dead' && d.deadReason === 'endpoint_disabled' && d.attempts === 0)).toBe(true);

    const refused = await api.app.inject({ method: 'POST', url: `/v1/webhooks/${id}/dead-letters/redeliver`, headers: auth('admin') });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: { code: 'CONFLICT', message: expect.stringMatching(/enable it first/) } });
    expect((await api.app.inject({ method: 'POST', url: `/v1/webhooks/${id}/dead-letters/redeliver`, headers: auth('analyst') })).statusCode).toBe(403);

    expect((await api.app.inject({ method: 'POST', url: `/v1/webhooks/${id}/enable`, headers: auth('admin') })).statusCode).toBe(200);
    const redelivered = await api.app.inject({ method: 'POST', url: `/v1/webhooks/${id}/dead-letters/redeliver`, headers: auth('admin') });
    expect(redelivered.statusCode).toBe(202);
    expect(redelivered.json<{ scheduled: string[] }>().scheduled.sort()).toEqual(queued.map((q) => q.id).sort());
    const after = await api.app.inject({ method: 'GET', url: `/v1/webhooks/${id}/deliveries`, headers: auth('viewer') });
    expect(after.json<{ deliveries: { status: string; deadReason: string | null }[] }>().deliveries.map((d) => [d.status, d.deadReason])).toEqual([['pending', null], ['pending', null]]);
  });
});

describe('webhook URL policy of the deployment', () => {
  it('refuses an http:// loopback receiver by default and accepts it when the deployment allows http and lists 127.0.0.1', async () => {
    const strict = await create({ url: 'http://127.0.0.1:9999/hooks' });
    expect(strict.statusCode).toBe(400);
    expect(strict.json<{ error: { message: string } }>().error.message).toMatch(/https/);
    const local = await startApi({ webhooks: { policy: { allowHttp: true, allowList: ['127.0.0.1'] } } });
    try {
      const res = await local.app.inject({ method: 'POST', url: '/v1/webhooks', headers: auth('admin'), payload: { url: 'http://127.0.0.1:9999/hooks' } });
      expect(res.statusCode).toBe(201);
    } finally {
      await local.close();
    }
  });
});
