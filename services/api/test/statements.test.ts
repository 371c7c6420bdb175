import { createHash, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '@flopwatch/store';
import { canonicalJson, createStatementSigner, verifyStatement, type PublicStatementKey } from '../src/statements/signing.js';
import { auth, raiseAlert, startApi, tenant, type TestApi } from './helpers.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const D1 = Date.parse('2026-03-01T00:00:00Z');

const pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicPem = (privatePem: string) => createStatementSigner({ privateKeyPem: privatePem }).publicKeys[0]!.publicKey;

let offset = 0;
/** `tera` tera-operations over one hour ending at `endMs` (8 GPUs). */
function record(tenantId: string, endMs: number, tera: number, over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    offset: String(offset++), tenantId, jobKey: `c/${tenantId}-${endMs}`, node: null, startMs: endMs - HOUR, endMs,
    teraOpsPerMs: tera / HOUR, upperTeraOpsPerMs: (2 * tera) / HOUR, milliGpus: 8000, lineageId: null,
    country: 'US', tier: 1, acceleratorId: 'nvidia-h100-sxm5-80gb', controlledTier1: true, controlled: true, h100e: 8, ...over,
  };
}

const oldKey = pem();
const signer = createStatementSigner({ privateKeyPem: pem(), keyId: 'k-2026', retired: [{ keyId: 'k-2025', publicKey: publicPem(oldKey) }] });
let api: TestApi;
beforeAll(async () => {
  api = await startApi({ statements: { signer } });
});
afterAll(async () => api?.close());

const issue = (body: object, role: 'analyst' | 'viewer' = 'analyst') => api.app.inject({ method: 'POST', url: '/v1/statements', headers: auth(role), payload: body });

describe('POST /v1/statements', () => {
  it("sums a group's members, lists its and its members' alerts raised in the period, and leaves out everything else", async () => {
    const fp = `card-${Date.now()}`;
    for (const id of ['g-a', 'g-b']) {
      const res = await api.app.inject({ method: 'PUT', url: `/v1/tenants/${id}`, headers: auth('admin'), payload: tenant(id, { identifiers: { paymentFingerprints: [fp], contactDomains: [] } }) });
      expect(res.statusCode).toBeLessThan(300);
    }
    const groupId = await api.store.registry.groupOf('g-a');
    expect(groupId).not.toBeNull();
    await api.store.accounting.applyBatch([
      record('g-a', D1 + 2 * HOUR, 100_000),
      record('g-b', D1 + DAY + 2 * HOUR, 30_000, { country: 'IN', tier: 2, controlledTier1: false }),
      record('g-b', D1 - DAY + 2 * HOUR, 7_000),
      record('outsider', D1 + 2 * HOUR, 999_000),
    ]);
    // Refusals as the ingest records them (each report once, however often it is refused): one in the period, one before it.
    const late = { record: record('g-a', D1 + 4 * HOUR, 1, { milliGpus: 2000 }), reason: 'interval_too_late' as const, message: '' };
    const earlier = { record: record('g-b', D1 - 2 * DAY, 1), reason: 'mixed_granularity' as const, message: '' };
    await api.store.accounting.recordRefused([late, earlier]);
    await api.store.accounting.recordRefused([late]);
    const inside = await raiseAlert(api.store, { subject: 'g-b', raisedAt: new Date(D1 + DAY + 5 * HOUR).toISOString() });
    await raiseAlert(api.store, { subject: 'g-a', level: 0.9, raisedAt: new Date(D1 + 3 * DAY).toISOString() });
    await raiseAlert(api.store, { subject: 'outsider', raisedAt: new Date(D1 + 5 * HOUR).toISOString() });

    const res = await issue({ scope: 'group', id: groupId, from: '2026-03-01', to: '2026-03-02' });
    expect(res.statusCode, res.body).toBe(200);
    const { statement, signature } = res.json();
    expect(statement.subject).toEqual({ kind: 'group', id: groupId, tenants: ['g-a', 'g-b'] });
    expect(statement.period).toMatchObject({ from: '2026-03-01', to: '2026-03-02', days: 2 });
    expect(statement.figures.period).toEqual({
      refused: { reports: { interval_too_late: 1 }, gpuMicroseconds: { interval_too_late: 2000 * HOUR } },
      teraOperations: { all: 130_000, controlled: 130_000, controlledTier1: 100_000 },
      byDay: [{ day: '2026-03-01', all: 100_000, controlled: 100_000, controlledTier1: 100_000 }, { day: '2026-03-02', all: 30_000, controlled: 30_000, controlledTier1: 0 }],
    });
    expect(statement.figures.cumulative.teraOperations).toEqual({ all: 137_000, controlled: 137_000, controlledTier1: 107_000, upperBound: 274_000 });
    expect(statement.figures.cumulative.byCountry).toEqual({ IN: 30_000, US: 107_000 });
    expect(statement.figures.cumulative.refused).toEqual({ reports: { interval_too_late: 1, mixed_granularity: 1 }, gpuMicroseconds: { interval_too_late: 2000 * HOUR, mixed_granularity: 8000 * HOUR } });
    expect(statement.figures.cumulative.gpuMicroseconds).toBe(3 * 8000 * HOUR);
    expect(statement.books.latestUsageAt).toBe(new Date(D1 + DAY + 2 * HOUR).toISOString());
    expect(statement.alerts.list.map((a: { id: string }) => a.id)).toEqual([inside.id]);
    expect(statement.notKept.length).toBeGreaterThan(0);
    expect(signature.keyId).toBe('k-2026');
    const keys = (await api.app.inject({ url: '/v1/statements/keys' })).json().keys as PublicStatementKey[];
    expect(verifyStatement({ statement, signature }, keys)).toEqual({ ok: true, keyId: 'k-2026' });
    // The audit trail holds the issue, with the digest of what was signed.
    const audit = await api.app.inject({ url: `/v1/audit?object=statement:${statement.id}`, headers: auth('analyst') });
    expect(audit.statusCode, audit.body).toBe(200);
    const [entry] = audit.json().entries;
    expect(entry).toMatchObject({ actor: 'alice', action: 'statement.issue', after: { subject: { kind: 'group', id: groupId }, period: { from: '2026-03-01', to: '2026-03-02' }, keyId: 'k-2026' } });
    expect(entry.after.sha256).toBe(createHash('sha256').update(canonicalJson(statement)).digest('hex'));
    // Its signature moved onto another key id (one the keys list holds) is refused before any key is tried.
    expect(verifyStatement({ statement, signature: { ...signature, keyId: 'k-2025' } }, keys)).toMatchObject({ ok: false, reason: expect.stringContaining('the statement names "k-2026"') });
  });

  it("gives a lineage's own operations per contributing tenant, with no period figures (the books keep none per lineage)", async () => {
    await api.store.accounting.applyBatch([
      record('l-t1', D1 + HOUR, 40_000, { lineageId: 'lin-x', jobKey: 'c/l1' }),
      record('l-t2', D1 + HOUR, 2_000, { lineageId: 'lin-x', jobKey: 'c/l2', acceleratorId: 'nvidia-tesla-t4', controlled: false, controlledTier1: false }),
      record('l-t2', D1 + 2 * HOUR, 5_000, { lineageId: 'lin-other', jobKey: 'c/l3' }),
    ]);
    const res = await issue({ scope: 'lineage', id: 'lin-x', from: '2026-03-01', to: '2026-03-31' });
    expect(res.statusCode, res.body).toBe(200);
    const { statement } = res.json();
    expect(statement.subject.tenants).toEqual(['l-t1', 'l-t2']);
    expect(statement.figures.period).toBeNull();
    expect(statement.figures.cumulative).toEqual({
      teraOperations: { all: 42_000, controlled: 40_000, controlledTier1: 40_000 },
      byTier: { 1: 42_000 }, byCountry: { US: 42_000 },
      byTenant: { 'l-t1': { all: 40_000, controlled: 40_000, controlledTier1: 40_000 }, 'l-t2': { all: 2_000, controlled: 0, controlledTier1: 0 } },
    });
  });

  it('refuses periods that are not whole UTC days in order, unknown groups and lineages, and viewers', async () => {
    expect((await issue({ scope: 'tenant', id: 't-1', from: '2026-03-02', to: '2026-03-01' })).statusCode).toBe(400);
    const notADay = await issue({ scope: 'tenant', id: 't-1', from: '2026-02-30', to: '2026-03-01' });
    expect(notADay.statusCode).toBe(400);
    expect(notADay.json().error.message).toContain('body.from');
    expect((await issue({ scope: 'tenant', id: 't-1', from: '2026-03-01T00:00:00Z', to: '2026-03-01' })).statusCode).toBe(400);
    expect((await issue({ scope: 'tenant', id: 't-1', from: '2000-01-01', to: '2026-03-01' })).statusCode).toBe(400);
    expect((await issue({ scope: 'group', id: 'no-such-group', from: '2026-03-01', to: '2026-03-01' })).statusCode).toBe(404);
    expect((await issue({ scope: 'lineage', id: 'no-such-lineage', from: '2026-03-01', to: '2026-03-01' })).statusCode).toBe(404);
    expect((await issue({ scope: 'tenant', id: 't-1', from: '2026-03-01', to: '2026-03-01' }, 'viewer')).statusCode).toBe(403);
  });
});

describe('statement signatures', () => {
  it('serves the current key and the retired ones, and a statement signed before a rotation still verifies', async () => {
    const keys = (await api.app.inject({ url: '/v1/statements/keys' })).json().keys as PublicStatementKey[];
    expect(keys.map((k) => [k.keyId, k.current])).toEqual([['k-2026', true], ['k-2025', false]]);
    const before = createStatementSigner({ privateKeyPem: oldKey, keyId: 'k-2025' }).sign({ format: 'x', figure: 1 });
    expect(verifyStatement(before, keys)).toEqual({ ok: true, keyId: 'k-2025' });
    expect(verifyStatement({ ...before, statement: { format: 'x', figure: 2 } }, keys).ok).toBe(false);
    expect(verifyStatement({ ...before, signature: { ...before.signature, keyId: 'k-unknown' } }, keys)).toMatchObject({ ok: false, reason: expect.stringContaining('no public key') });
  });

  it('signs the canonical form: the same statement with its keys in any order verifies, any changed value does not', () => {
    const s = createStatementSigner({ privateKeyPem: pem() });
    const json = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean(), fc.constant(null)), { minKeys: 1 });
    fc.assert(fc.property(json, (value) => {
      const signed = s.sign(value);
      const reordered = Object.fromEntries(Object.entries(value).reverse());
      expect(canonicalJson(reordered)).toBe(canonicalJson(value));
      expect(verifyStatement({ statement: reordered, signature: signed.signature }, s.publicKeys).ok).toBe(true);
      const [first] = Object.keys(value);
      const changed = { ...value, [first!]: typeof value[first!] === 'string' ? `${String(value[first!])}x` : 'changed' };
      expect(verifyStatement({ statement: changed, signature: signed.signature }, s.publicKeys).ok).toBe(false);
    }), { numRuns: 100 });
    expect(() => canonicalJson({ a: Number.NaN })).toThrow('not finite');
  });
});
