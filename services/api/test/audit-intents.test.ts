import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@flopwatch/test-harness';
import { caseId } from '@flopwatch/contracts';
import { auth, raiseAlert, startApi, tenant, type TestApi } from './helpers.js';

let api: TestApi | undefined;
afterEach(async () => api?.close());

describe('a change and its audit entry over the API', () => {
  it('answers that a KYC change may have been written when it failed half-way, names it in verify, and confirms it once the record is found in place', async () => {
    // The sealer settles intents older than 1.5 s (their writer's grace) every 50 ms.
    api = await startApi({ auditSealing: { intervalMs: 50, intentGraceMs: 1500 } });
    const { app, redis, store, keys } = api;
    // The registry's tenant index holds the wrong type: putTenant writes the KYC record, then fails.
    await redis.set(keys.registry.tenants, 'not a sorted set');
    const res = await app.inject({ method: 'PUT', url: '/v1/tenants/half', headers: auth('admin'), payload: tenant('half', { hqCountry: 'SG', kycStatus: 'pending' }) });
    expect(res.statusCode).toBe(503);
    const error = res.json().error;
    expect(error.details).toMatchObject({ retryable: true, written: 'unknown', intent: expect.any(String) });
    expect(error.message).toMatch(/may have been written/);
    expect(error.message).not.toMatch(/nothing was written/);
    expect(await store.registry.getTenant('half')).toMatchObject({ id: 'half', kycStatus: 'pending' });
    await redis.del(keys.registry.tenants);

    const named = (await app.inject({ url: '/v1/audit/verify', headers: auth('analyst') })).json();
    expect(named).toMatchObject({ ok: false, broken: null, checked: 0 });
    expect(named.unconfirmed).toEqual([expect.objectContaining({ id: error.details.intent, action: 'tenant.put', object: 'tenant:half', error: expect.stringMatching(/WRONGTYPE/) })]);

    // Past the grace, the sealer finds the record in place and confirms the entry.
    await waitFor(async () => (await app.inject({ url: '/v1/audit/verify', headers: auth('analyst') })).json().ok === true, { what: 'the sealer to confirm the intent', timeoutMs: 10_000 });
    expect((await app.inject({ url: '/v1/audit/verify', headers: auth('analyst') })).json()).toMatchObject({ ok: true, checked: 1, unsealed: 0, unconfirmed: [] });
    const entries = (await app.inject({ url: '/v1/audit?object=tenant:half', headers: auth('analyst') })).json().entries;
    expect(entries).toEqual([expect.objectContaining({ action: 'tenant.put', actor: 'root', after: expect.objectContaining({ id: 'half' }), note: expect.stringMatching(/^confirmed after the change was found in place/) })]);
  });

  it('names an unconfirmed lineage change in GET /v1/audit/verify while nothing settles it', async () => {
    api = await startApi({ auditSealing: false });
    const { app, redis, keys } = api;
    // The lineage index is broken: putLineage writes the record, then fails.
    await redis.set(keys.registry.lineages, 'not a sorted set');
    const res = await app.inject({ method: 'PUT', url: '/v1/lineages/run-1', headers: auth('admin'), payload: { parentId: null, baseModel: null, notes: '' } });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.details.written).toBe('unknown');
    const verify = (await app.inject({ url: '/v1/audit/verify', headers: auth('analyst') })).json();
    expect(verify).toMatchObject({ ok: false, broken: null, checked: 0 });
    expect(verify.unconfirmed).toEqual([expect.objectContaining({ action: 'lineage.put', object: 'lineage:run-1', actor: 'root', error: expect.stringMatching(/WRONGTYPE/) })]);
  });

  it('writes each webhook change with its entry, in one listing with the KYC changes, and the chain verifies', async () => {
    api = await startApi({ auditSealing: { intervalMs: 50 }, webhooks: { policy: { allowHttp: true, allowList: ['127.0.0.1'] } } });
    const { app } = api;
    const created = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: auth('admin'), payload: { url: 'http://127.0.0.1:9/hook' } });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect((await app.inject({ method: 'POST', url: `/v1/webhooks/${id}/rotate-secret`, headers: auth('admin'), payload: {} })).statusCode).toBe(200);
    expect((await app.inject({ method: 'PUT', url: '/v1/tenants/acme', headers: auth('admin'), payload: tenant('acme') })).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: `/v1/webhooks/${id}`, headers: auth('admin') })).statusCode).toBe(204);
    const entries = (await app.inject({ url: '/v1/audit', headers: auth('analyst') })).json().entries as { action: string; seq: number }[];
    expect(entries.map((e) => e.action)).toEqual(['webhook.delete', 'tenant.put', 'webhook.rotate_secret', 'webhook.create']);
    expect(entries.map((e) => e.seq)).toEqual([4, 3, 2, 1]);
    expect((await app.inject({ url: '/v1/audit/verify', headers: auth('analyst') })).json()).toMatchObject({ ok: true, checked: 4, unconfirmed: [] });
  });

  it('loses nothing when KYC changes, case comments and alert raises all arrive at once while the sealer runs, and the chain is gapless', async () => {
    api = await startApi({ auditSealing: { intervalMs: 10 } });
    const { app, store } = api;
    const TENANTS = 50;
    const SUBJECTS = 40;
    const LEVELS = [0.1, 0.25, 0.5];
    const COMMENTS = 30;
    await raiseAlert(store, { subject: 'commented', level: 0.1 });
    const commented = caseId({ rule: 'tenant-approach', scope: 'tenant', subject: 'commented' });
    const results = await Promise.all([
      ...Array.from({ length: TENANTS }, (_, i) => app.inject({ method: 'PUT', url: `/v1/tenants/k${i}`, headers: auth('admin'), payload: tenant(`k${i}`) }).then((r) => r.statusCode)),
      ...Array.from({ length: COMMENTS }, (_, i) => app.inject({ method: 'POST', url: `/v1/cases/${commented}/comments`, headers: auth('analyst'), payload: { text: `note ${i}` } }).then((r) => r.statusCode)),
      ...Array.from({ length: SUBJECTS }, (_, s) => LEVELS.map((level) => raiseAlert(store, { subject: `s${s}`, level }).then(() => 200))).flat(),
    ]);
    expect(results.filter((code) => code !== 200)).toEqual([]);
    // The commented case's opening, every comment, every tenant, every raise (one case per subject: open, then a level each).
    const expected = 1 + COMMENTS + TENANTS + SUBJECTS * LEVELS.length;
    const verified = (await app.inject({ url: '/v1/audit/verify', headers: auth('analyst') })).json();
    expect(verified).toMatchObject({ ok: true, checked: expected, firstSeq: 1, lastSeq: expected, broken: null, unsealed: 0, unconfirmed: [] });
    for (let i = 0; i < TENANTS; i += 7) {
      expect((await app.inject({ url: `/v1/audit?object=tenant:k${i}`, headers: auth('analyst') })).json().entries).toEqual([expect.objectContaining({ action: 'tenant.put', before: null })]);
    }
    const comments = (await app.inject({ url: `/v1/audit?object=case:${commented}&limit=100`, headers: auth('analyst') })).json().entries.filter((e: { action: string }) => e.action === 'case.comment');
    expect(comments).toHaveLength(COMMENTS);
  });
});
