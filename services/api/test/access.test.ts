import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPI } from 'openapi-types';
import type { Role } from '../src/auth.js';
import { dropPrefix, freshPrefix } from '@flopwatch/test-harness';
import { auth, startApi, tenant, type TestApi } from './helpers.js';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => api?.close());

type Method = 'GET' | 'PUT' | 'POST';
interface RouteCase {
  method: Method;
  url: string;
  allowed: Role[];
  body?: unknown;
  contentType?: string;
}

const ALERT = 'al_000000000000000000000000';
const CASE = 'cs_000000000000000000000000';
// The role × route table of README.md: who may call what.
const TABLE: RouteCase[] = [
  { method: 'GET', url: '/v1/whoami', allowed: ['admin', 'analyst', 'ingest', 'viewer'] },
  { method: 'POST', url: '/v1/telemetry', allowed: ['admin', 'ingest'], body: [] },
  { method: 'GET', url: '/v1/tenants', allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'GET', url: '/v1/tenants/t-1', allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'PUT', url: '/v1/tenants/t-1', allowed: ['admin'], body: tenant('t-1') },
  { method: 'POST', url: '/v1/tenants/import', allowed: ['admin'], body: '', contentType: 'application/x-ndjson' },
  { method: 'GET', url: '/v1/lineages/l-1', allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'PUT', url: '/v1/lineages/l-1', allowed: ['admin'], body: { parentId: null, baseModel: null, notes: '' } },
  { method: 'GET', url: '/v1/tenants/t-1/usage', allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'GET', url: '/v1/groups/g-1/usage', allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'GET', url: '/v1/alerts', allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'GET', url: `/v1/alerts/${ALERT}`, allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'POST', url: `/v1/alerts/${ALERT}/transitions`, allowed: ['admin', 'analyst'], body: { action: 'acknowledge' } },
  { method: 'GET', url: '/v1/cases', allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'GET', url: `/v1/cases/${CASE}`, allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'GET', url: `/v1/cases/${CASE}/series`, allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'POST', url: `/v1/cases/${CASE}/transitions`, allowed: ['admin', 'analyst'], body: { action: 'acknowledge' } },
  { method: 'POST', url: `/v1/cases/${CASE}/assign`, allowed: ['admin', 'analyst'], body: { assignee: 'bob' } },
  { method: 'POST', url: `/v1/cases/${CASE}/comments`, allowed: ['admin', 'analyst'], body: { text: 'hi' } },
  { method: 'PUT', url: `/v1/cases/${CASE}/tags`, allowed: ['admin', 'analyst'], body: { tags: ['x'] } },
  { method: 'POST', url: '/v1/cases/acknowledge', allowed: ['admin', 'analyst'], body: { ids: [CASE] } },
  { method: 'GET', url: '/v1/cases/export', allowed: ['admin', 'analyst'] },
  { method: 'GET', url: '/v1/audit', allowed: ['admin', 'analyst'] },
  { method: 'GET', url: '/v1/audit/verify', allowed: ['admin', 'analyst'] },
  { method: 'GET', url: '/v1/audit/export', allowed: ['admin', 'analyst'] },
  { method: 'GET', url: '/v1/policy', allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'POST', url: '/v1/statements', allowed: ['admin', 'analyst'], body: { scope: 'tenant', id: 't-1', from: '2026-01-01', to: '2026-01-31' } },
  { method: 'GET', url: '/v1/notifier/dead-letters', allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'POST', url: '/v1/notifier/dead-letters/redeliver', allowed: ['admin'] },
  { method: 'GET', url: '/v1/behaviour-links', allowed: ['admin', 'analyst', 'viewer'] },
  { method: 'POST', url: '/v1/behaviour-links/t-1~t-2/confirm', allowed: ['admin', 'analyst'], body: {} },
  { method: 'POST', url: '/v1/behaviour-links/t-1~t-2/dismiss', allowed: ['admin', 'analyst'], body: {} },
];
const ROLES: Role[] = ['admin', 'analyst', 'ingest', 'viewer'];

const send = (c: RouteCase, headers: Record<string, string>) =>
  api.app.inject({
    method: c.method,
    url: c.url,
    headers: { ...headers, ...(c.body === undefined ? {} : { 'content-type': c.contentType ?? 'application/json' }) },
    ...(c.body === undefined ? {} : { payload: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) }),
  });

describe('roles × routes', () => {
  for (const c of TABLE) {
    for (const role of ROLES) {
      const allowed = c.allowed.includes(role);
      it(`${allowed ? 'lets' : 'forbids'} ${role} ${c.method} ${c.url}`, async () => {
        const res = await send(c, auth(role));
        if (allowed) expect([401, 403]).not.toContain(res.statusCode);
        else {
          expect(res.statusCode).toBe(403);
          expect(res.json().error.code).toBe('FORBIDDEN');
        }
      });
    }
    it(`answers 401 to ${c.method} ${c.url} without a key, and with a wrong one`, async () => {
      const none = await send(c, {});
      expect(none.statusCode).toBe(401);
      expect(none.json().error).toMatchObject({ code: 'UNAUTHORIZED' });
      expect(none.headers['www-authenticate']).toContain('Bearer');
      const wrong = await send(c, { authorization: 'Bearer not-a-key' });
      expect(wrong.statusCode).toBe(401);
    });
  }
});

describe('open routes', () => {
  it('answers /healthz, /readyz (Redis and Kafka reachable) and /metrics without a key', async () => {
    expect((await api.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await api.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { redis: 'ok', kafka: 'ok' } });
    await api.app.inject({ url: '/v1/policy', headers: auth('viewer') });
    const metrics = await api.app.inject({ url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('flopwatch_api_request_duration_seconds_count{method="GET",route="/v1/policy",status="200"');
  });

  it('serves the statements\' public keys without a key (none configured: an empty list), and refuses to issue a statement with 503 until a signing key is', async () => {
    const keys = await api.app.inject({ url: '/v1/statements/keys' });
    expect(keys.statusCode).toBe(200);
    expect(keys.json()).toEqual({ keys: [] });
    const issue = await api.app.inject({ method: 'POST', url: '/v1/statements', headers: auth('analyst'), payload: { scope: 'tenant', id: 't-1', from: '2026-01-01', to: '2026-01-31' } });
    expect(issue.statusCode).toBe(503);
    expect(issue.json().error.code).toBe('UNAVAILABLE');
  });

  it('reports not ready when a dependency is unreachable', async () => {
    const broken = await startApi();
    try {
      broken.redis.disconnect();
      const res = await broken.app.inject({ url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().checks.redis).toBe('unreachable');
    } finally {
      await broken.app.close();
    }
  });

  it('puts /metrics behind a key when METRICS_PUBLIC is off', async () => {
    const closed = await startApi({ metricsPublic: false });
    try {
      expect((await closed.app.inject({ url: '/metrics' })).statusCode).toBe(401);
      expect((await closed.app.inject({ url: '/metrics', headers: auth('viewer') })).statusCode).toBe(200);
    } finally {
      await closed.close();
    }
  });
});

describe('errors and limits', () => {
  it('answers an unknown route with a JSON 404', async () => {
    const res = await api.app.inject({ url: '/v1/nothing-here', headers: auth('admin') });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /v1/nothing-here', details: null } });
  });

  it('names the body as malformed JSON', async () => {
    const res = await api.app.inject({ method: 'PUT', url: '/v1/tenants/t-2', headers: { ...auth('admin'), 'content-type': 'application/json' }, payload: '{"legalName": ' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'INVALID_JSON' });
    expect(res.json().error.message).toContain('body');
  });

  it('names a field of the wrong type', async () => {
    const res = await api.app.inject({ method: 'PUT', url: '/v1/tenants/t-2', headers: auth('admin'), payload: { ...tenant('t-2'), kycStatus: 42 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
    expect(res.json().error.details.fields).toEqual(['body.kycStatus']);
    expect(res.json().error.message).toContain('body.kycStatus');
  });

  it('names an unknown field', async () => {
    const res = await api.app.inject({ method: 'PUT', url: '/v1/tenants/t-2', headers: auth('admin'), payload: { ...tenant('t-2'), isAdmin: true } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.fields).toEqual(['body.isAdmin']);
  });

  it('names an unknown query parameter', async () => {
    const res = await api.app.inject({ url: '/v1/alerts?colour=red', headers: auth('viewer') });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.fields).toEqual(['querystring.colour']);
  });

  it.each([
    ['/v1/tenants/%27%20OR%201%3D1--', 'params.id'],
    ['/v1/tenants/..%2F..%2Fetc%2Fpasswd', 'params.id'],
    ['/v1/tenants/%7Bt%3Aother%7D', 'params.id'],
    ['/v1/lineages/x%0D%0Aset%20k%20v', 'params.id'],
    ['/v1/alerts/al_%24where', 'params.id'],
  ])('rejects the injection-looking id %s naming %s', async (url, field) => {
    const res = await api.app.inject({ url, headers: auth('admin') });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.fields).toEqual([field]);
  });

  it.each([
    ['/v1/tenants/%E0%A4%A', 400, /not a valid URL/],
    ['/v1/tenants/%zz', 400, /not a valid URL/],
    [`/v1/tenants/${'a'.repeat(257)}`, 414, /longer than 256 characters/],
  ])('answers the router\'s own refusal of %s (%i) in the error envelope', async (url, status, message) => {
    const res = await api.app.inject({ url, headers: auth('admin') });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(message), details: null } });
  });

  it('refuses a KYC country code that is not assigned, naming the field, as telemetry does', async () => {
    const unassigned = await api.app.inject({ method: 'PUT', url: '/v1/tenants/t-4', headers: auth('admin'), payload: { ...tenant('t-4'), hqCountry: 'ZZ' } });
    expect(unassigned.statusCode).toBe(400);
    expect(unassigned.json().error.details.fields).toEqual(['body.hqCountry']);
    const owner = await api.app.inject({ method: 'PUT', url: '/v1/tenants/t-4', headers: auth('admin'), payload: { ...tenant('t-4'), beneficialOwners: [{ name: 'A', country: 'SG' }, { name: 'B', country: 'QQ' }] } });
    expect(owner.statusCode).toBe(400);
    expect(owner.json().error.details.fields).toEqual(['body.beneficialOwners.1.country']);
    expect((await api.app.inject({ url: '/v1/tenants/t-4', headers: auth('admin') })).statusCode).toBe(404);
    const imported = await api.app.inject({
      method: 'POST', url: '/v1/tenants/import', headers: { ...auth('admin'), 'content-type': 'application/x-ndjson' },
      payload: [JSON.stringify(tenant('t-5', { hqCountry: 'SG' })), JSON.stringify({ ...tenant('t-6'), ultimateParent: { name: 'P', country: 'QQ' } })].join('\n'),
    });
    expect(imported.json()).toMatchObject({ imported: 1, rejected: [{ line: 2, id: 't-6', error: expect.stringMatching(/ultimateParent\.country.*QQ/) }] });
  });

  it('answers 413 to a body over the limit', async () => {
    const small = await startApi({ limits: { bodyLimit: 2048 } });
    try {
      const res = await small.app.inject({ method: 'PUT', url: '/v1/tenants/t-3', headers: auth('admin'), payload: { ...tenant('t-3'), notes: 'x'.repeat(5000) } });
      expect(res.statusCode).toBe(413);
      expect(res.json().error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    } finally {
      await small.close();
    }
  });

  it('answers 415 to an unsupported content type', async () => {
    const res = await api.app.inject({ method: 'PUT', url: '/v1/tenants/t-2', headers: { ...auth('admin'), 'content-type': 'application/xml' }, payload: '<tenant/>' });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('rate-limits per key: one key exhausted does not limit another', async () => {
    const limited = await startApi({ limits: { rateLimitMax: 3 } });
    try {
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await limited.app.inject({ url: '/v1/policy', headers: auth('viewer') })).statusCode);
      expect(codes).toEqual([200, 200, 200, 429]);
      const last = await limited.app.inject({ url: '/v1/policy', headers: auth('viewer') });
      expect(last.json().error.code).toBe('RATE_LIMITED');
      expect(last.headers['retry-after']).toBeDefined();
      expect((await limited.app.inject({ url: '/v1/policy', headers: auth('analyst') })).statusCode).toBe(200);
      expect((await limited.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('shares one rate limit between replicas through Redis', async () => {
    const prefix = freshPrefix('ratelimit');
    // Two replicas of the API, each with its own Redis connection, counting in one place.
    const [a, b] = [await startApi({ limits: { rateLimitMax: 4 }, rateLimitPrefix: prefix }), await startApi({ limits: { rateLimitMax: 4 }, rateLimitPrefix: prefix })];
    try {
      const codes = [];
      for (let i = 0; i < 6; i++) codes.push((await (i % 2 === 0 ? a : b).app.inject({ url: '/v1/policy', headers: auth('viewer') })).statusCode);
      // In memory each replica would allow 4 (8 in all); shared, the 5th request of the key is refused wherever it lands.
      expect(codes).toEqual([200, 200, 200, 200, 429, 429]);
      expect((await a.redis.keys(`${prefix}ratelimit:*`)).length).toBeGreaterThan(0);
      expect((await b.app.inject({ url: '/v1/policy', headers: auth('analyst') })).statusCode).toBe(200);
    } finally {
      await dropPrefix(a.redis, prefix);
      await a.close();
      await b.close();
    }
  });

  it('answers /readyz from a probe cached for its window', async () => {
    const cached = await startApi({ readyCacheMs: 600_000 });
    try {
      expect((await cached.app.inject({ url: '/readyz' })).statusCode).toBe(200);
      cached.redis.disconnect(); // within the window, no new ping is made
      expect((await cached.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { redis: 'ok', kafka: 'ok' } });
    } finally {
      await cached.app.close();
    }
  });

  it('sends a request id in a header, keeping a sane one the caller gave', async () => {
    const res = await api.app.inject({ url: '/healthz' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const given = await api.app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-123' } });
    expect(given.headers['x-request-id']).toBe('trace-123');
    const bad = await api.app.inject({ url: '/healthz', headers: { 'x-request-id': 'a b\tc' } });
    expect(bad.headers['x-request-id']).not.toBe('a b\tc');
  });

  it('hides internals in a 500', async () => {
    const broken = await startApi();
    try {
      broken.redis.disconnect();
      const res = await broken.app.inject({ url: '/v1/tenants/t-1', headers: auth('viewer') });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error; the request id identifies it in the logs', details: null } });
    } finally {
      await broken.app.close();
    }
  });
});

describe('OpenAPI', () => {
  it('serves a valid OpenAPI document at /docs/json listing every route, and a page at /docs', async () => {
    const res = await api.app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as OpenAPI.Document & { paths: Record<string, Record<string, unknown>> };
    await SwaggerParser.validate(structuredClone(doc) as OpenAPI.Document);
    for (const c of TABLE) {
      const path = c.url.replace('t-1~t-2', '{id}').replace('t-1', '{id}').replace('l-1', '{id}').replace('g-1', '{id}').replace(ALERT, '{id}').replace(CASE, '{id}');
      expect(doc.paths[path], path).toBeDefined();
      expect(doc.paths[path]![c.method.toLowerCase()], `${c.method} ${path}`).toBeDefined();
    }
    for (const open of ['/healthz', '/readyz', '/metrics', '/v1/statements/keys']) expect(doc.paths[open]).toBeDefined();
    const page = await api.app.inject({ url: '/docs' });
    expect([200, 302]).toContain(page.statusCode);
  });
});
