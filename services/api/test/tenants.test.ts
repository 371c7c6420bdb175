import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTOR, auth, startApi, tenant, type TestApi } from './helpers.js';

let api: TestApi;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => api?.close());

const put = (id: string, body: object) => api.app.inject({ method: 'PUT', url: `/v1/tenants/${id}`, headers: auth('admin'), payload: body });

describe('tenants', () => {
  it('stores a tenant, shows it with its risk, and audits who changed what from what', async () => {
    const created = await put('acme', tenant('acme', { hqCountry: 'SG', kycStatus: 'pending' }));
    expect(created.statusCode).toBe(200);
    expect(created.json()).toMatchObject({ created: true, tenant: { id: 'acme', hqCountry: 'SG' } });
    const updated = await put('acme', tenant('acme', { hqCountry: 'SG', kycStatus: 'verified' }));
    expect(updated.json().created).toBe(false);

    const got = await api.app.inject({ url: '/v1/tenants/acme', headers: auth('viewer') });
    expect(got.statusCode).toBe(200);
    expect(got.json().tenant.kycStatus).toBe('verified');
    expect(got.json().risk).toMatchObject({ tier: 2, trusted: true, kycStatus: 'verified' });
    expect(got.json().group).toEqual({ id: expect.any(String), members: ['acme'] });

    const audit = await api.app.inject({ url: '/v1/audit?object=tenant:acme', headers: auth('analyst') });
    const entries = audit.json().entries;
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ actor: ACTOR.admin, action: 'tenant.put', before: { kycStatus: 'pending' }, after: { kycStatus: 'verified' } });
    expect(entries[1]).toMatchObject({ before: null, after: { id: 'acme' } });
    expect(Date.parse(entries[0].at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('reports the group a shared payment fingerprint forms', async () => {
    await put('a-1', tenant('a-1', { identifiers: { paymentFingerprints: ['card-9'], contactDomains: [] } }));
    const res = await put('a-2', tenant('a-2', { identifiers: { paymentFingerprints: ['card-9'], contactDomains: [] } }));
    expect(res.json().groupChanges).toEqual([{ groupId: expect.any(String), members: ['a-1', 'a-2'] }]);
  });

  it('answers 404 for an unknown tenant and 400 when the body names another id', async () => {
    expect((await api.app.inject({ url: '/v1/tenants/nobody', headers: auth('viewer') })).statusCode).toBe(404);
    const res = await put('x-1', tenant('x-2'));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.fields).toEqual(['body.id']);
  });

  it('rejects a missing required field naming it', async () => {
    const { legalName: _omit, ...rest } = tenant('x-3');
    const res = await put('x-3', rest);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.fields).toEqual(['body.legalName']);
  });

  it('lists tenants with filters and a cursor', async () => {
    for (const [id, country, status] of [['t-a', 'US', 'verified'], ['t-b', 'CN', 'pending'], ['t-c', 'US', 'pending'], ['t-d', 'US', 'pending']] as const) {
      await put(id, tenant(id, { hqCountry: country, kycStatus: status }));
    }
    const list = (q: string) => api.app.inject({ url: `/v1/tenants?${q}`, headers: auth('viewer') }).then((r) => r.json());
    const first = await list('kycStatus=pending&country=US&limit=1');
    expect(first.tenants.map((t: { id: string }) => t.id)).toEqual(['t-c']);
    const second = await list(`kycStatus=pending&country=US&limit=1&cursor=${first.nextCursor}`);
    expect(second.tenants.map((t: { id: string }) => t.id)).toEqual(['t-d']);
    const third = await list(`kycStatus=pending&country=US&limit=1&cursor=${second.nextCursor}`);
    expect(third).toEqual({ tenants: [], nextCursor: null });
    expect((await list('tier=3')).tenants.map((t: { id: string }) => t.id)).toEqual(['t-b']);
    const bad = await api.app.inject({ url: '/v1/tenants?tier=7', headers: auth('viewer') });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.fields).toEqual(['querystring.tier']);
  });

  it('imports NDJSON, saving valid lines and reporting rejects by line number', async () => {
    const lines = [
      JSON.stringify(tenant('imp-1')),
      '',
      '{not json',
      JSON.stringify({ ...tenant('imp-2'), hqCountry: 'usa' }),
      JSON.stringify(tenant('imp-3', { kycStatus: 'rejected' })),
      JSON.stringify({ ...tenant('imp-4'), id: undefined }),
    ].join('\n');
    const res = await api.app.inject({ method: 'POST', url: '/v1/tenants/import', headers: { ...auth('admin'), 'content-type': 'application/x-ndjson' }, payload: lines });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ imported: 2, created: 2 });
    expect(body.rejected.map((r: { line: number }) => r.line)).toEqual([3, 4, 6]);
    expect(body.rejected[1]).toMatchObject({ id: 'imp-2' });
    expect(body.rejected[1].error).toContain('hqCountry');
    expect(body.rejected[2].error).toContain('id');
    expect(await api.store.registry.getTenant('imp-3')).toMatchObject({ kycStatus: 'rejected' });
    expect(await api.store.registry.getTenant('imp-2')).toBeNull();
    const audit = await api.app.inject({ url: `/v1/audit?actor=${ACTOR.admin}`, headers: auth('admin') });
    expect(audit.json().entries.map((e: { object: string }) => e.object)).toEqual(['tenant:imp-3', 'tenant:imp-1']);
  });
});
