import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { indexScreeningList, parseScreeningList, screenTenant } from '../src/screening.js';
import { waitFor } from '@flopwatch/test-harness';
import { auth, startApi, tenant, type TestApi } from './helpers.js';

const fixture = (name: string) => new URL(`./fixtures/csl/${name}`, import.meta.url).pathname;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fw-csl-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the Consolidated Screening List in its published formats', () => {
  it('reads the JSON and the CSV download into the same entries', async () => {
    const json = parseScreeningList(await readFile(fixture('consolidated.json'), 'utf8'));
    const csv = parseScreeningList(await readFile(fixture('consolidated.csv'), 'utf8'));
    // The CSV fixture holds the JSON fixture's two entries and one more.
    expect(csv).toHaveLength(3);
    expect(csv.slice(0, 2)).toEqual(json);
    expect(json[0]).toMatchObject({ source: 'Entity List (EL) - Bureau of Industry and Security', name: 'Lionrock Compute Pte. Ltd.', countries: ['SG'], altNames: ['Lionrock Computing', '狮岩计算有限公司'] });
    expect(json[1]).toMatchObject({ type: 'Individual', programs: ['EXAMPLE-EO00000'], countries: ['RU'] });
  });

  it('names what is wrong with a file that is not the list', () => {
    expect(() => parseScreeningList('{"results": 3}')).toThrow(/array of entries or an object with "results"/);
    expect(() => parseScreeningList('[{"name": "x"}]')).toThrow(/entry 0: an entry needs "name" and "source"/);
    expect(() => parseScreeningList('{ not json')).toThrow(/not valid JSON/);
  });

  it('matches a legal name, a parent and an owner through name variants, aliases and scripts', async () => {
    const list = indexScreeningList(parseScreeningList(await readFile(fixture('consolidated.csv'), 'utf8')), 'sha');
    const matches = screenTenant(tenant('t', {
      legalName: 'NARI',
      ultimateParent: { name: '狮岩计算', country: 'SG' },
      beneficialOwners: [{ name: 'Petr Kovalenko', country: 'RU' }, { name: 'Someone Else', country: 'US' }],
    }), list);
    expect(matches.map((m) => [m.field, m.declared, m.listed, m.entry.source.split(' - ')[0]])).toEqual([
      ['legalName', 'NARI', 'NARI', 'Military End User (MEU) List'],
      ['ultimateParent', '狮岩计算', '狮岩计算有限公司', 'Entity List (EL)'],
      ['beneficialOwner', 'Petr Kovalenko', 'KOVALENKO, Petr', 'Specially Designated Nationals (SDN)'],
    ]);
    expect(screenTenant(tenant('clean', { legalName: 'Lionrock Capital Ltd' }), list)).toEqual([]);
  });
});

describe('screening in the API', () => {
  let api: TestApi | null = null;
  afterEach(async () => {
    await api?.close();
    api = null;
  });

  const metric = async (name: string) => {
    const text = (await api!.app.inject({ url: '/metrics' })).body;
    return Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? Number.NaN);
  };

  it('flags a KYC write that matches the list, with the entry as evidence, audited and re-evaluated', async () => {
    const path = join(dir, 'write.json');
    await copyFile(fixture('consolidated.json'), path);
    api = await startApi({ screening: { path, intervalMs: 60_000 } });
    const res = await api.app.inject({ method: 'PUT', url: '/v1/tenants/shell-1', headers: auth('admin'), payload: tenant('shell-1', { hqCountry: 'SG', ultimateParent: { name: 'LIONROCK COMPUTE PTE LTD', country: 'SG' } }) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.tenant.entityListMatch).toBe(true);
    expect(body.tenant.screening).toMatchObject({ flagged: true, list: { entries: 2 }, matches: [{ field: 'ultimateParent', declared: 'LIONROCK COMPUTE PTE LTD', listed: 'Lionrock Compute Pte. Ltd.', score: 1, entry: { source: 'Entity List (EL) - Bureau of Industry and Security', countries: ['SG'] } }] });
    // The tenant's risk now carries the entity-list reason, and the audit entry holds the evidence.
    const view = (await api.app.inject({ url: '/v1/tenants/shell-1', headers: auth('analyst') })).json();
    expect(view.risk).toMatchObject({ tier: 3, reasons: expect.arrayContaining([expect.stringMatching(/restricted-party list/)]) });
    const entries = (await api.app.inject({ url: '/v1/audit?object=tenant:shell-1', headers: auth('analyst') })).json().entries;
    expect(entries[0]).toMatchObject({ action: 'tenant.put', after: { entityListMatch: true, screening: { matches: [{ listed: 'Lionrock Compute Pte. Ltd.' }] } } });
    // A client cannot write the screening outcome itself.
    const forged = await api.app.inject({ method: 'PUT', url: '/v1/tenants/x', headers: auth('admin'), payload: { ...tenant('x'), screening: body.tenant.screening } });
    expect(forged.statusCode).toBe(400);
  });

  it('screens every tenant again when the file changes, without a restart, and clears only its own flags', async () => {
    const path = join(dir, 'reload.json');
    // An empty list is refused (counted), so the API starts screening nobody until the real one arrives.
    await writeFile(path, JSON.stringify({ results: [] }));
    api = await startApi({ screening: { path, intervalMs: 100 } });
    const put = (t: ReturnType<typeof tenant>) => api!.app.inject({ method: 'PUT', url: `/v1/tenants/${t.id}`, headers: auth('admin'), payload: t });
    await put(tenant('owner-ru', { beneficialOwners: [{ name: 'Petro Ivanovych Kovalenko', country: 'RU' }] }));
    await put(tenant('nari', { legalName: 'Northwind Aerospace Research Institute', hqCountry: 'CN' }));
    await put(tenant('flagged-by-provider', { legalName: 'Northwind Aerospace Research Inst.', entityListMatch: true }));
    await put(tenant('clean', { legalName: 'Clean Compute Inc.' }));
    const get = async (id: string) => (await api!.app.inject({ url: `/v1/tenants/${id}`, headers: auth('analyst') })).json().tenant;
    expect((await get('nari')).entityListMatch).toBe(false);
    expect(await metric('flopwatch_screening_list_reload_failures_total')).toBe(1);

    // The provider replaces the file with the CSV download.
    await copyFile(fixture('consolidated.csv'), path);
    // Every tenant is screened once the registry records the file's sha256 as applied.
    const applied = async (file: string) => {
      const sha = createHash('sha256').update(await readFile(file, 'utf8')).digest('hex');
      await waitFor(async () => (await api!.store.registry.screening.applied()) === sha, { what: 'the list applied to every tenant', timeoutMs: 10_000 });
    };
    await applied(path);
    expect(await metric('flopwatch_screening_list_entries')).toBe(3);
    expect((await get('owner-ru'))).toMatchObject({ entityListMatch: true, screening: { flagged: true, matches: [{ field: 'beneficialOwner', entry: { type: 'Individual' } }] } });
    expect((await get('nari'))).toMatchObject({ entityListMatch: true, screening: { flagged: true } });
    expect((await get('flagged-by-provider'))).toMatchObject({ entityListMatch: true, screening: { flagged: false } });
    expect((await get('clean')).entityListMatch).toBe(false);
    expect((await get('clean')).screening).toBeUndefined();
    const audit = (await api.app.inject({ url: '/v1/audit?object=tenant:nari', headers: auth('analyst') })).json().entries;
    expect(audit[0]).toMatchObject({ action: 'tenant.screen', actor: 'screening', note: expect.stringContaining('Military End User (MEU) List') });

    // A file that is not the list leaves the list in force, counted.
    await writeFile(path, '{ broken');
    await waitFor(async () => (await metric('flopwatch_screening_list_reload_failures_total')) === 2, { what: 'the failed reload counted', timeoutMs: 10_000 });
    expect(await metric('flopwatch_screening_list_entries')).toBe(3);
    expect((await get('nari')).entityListMatch).toBe(true);

    // The MEU entry is delisted: screening's own flag is cleared, the provider's stays.
    const csv = (await readFile(fixture('consolidated.csv'), 'utf8')).split('\n').filter((l) => !l.includes('Northwind')).join('\n');
    await writeFile(path, csv);
    await applied(path);
    expect((await get('nari'))).toMatchObject({ entityListMatch: false, screening: { flagged: false, matches: [] } });
    expect((await get('flagged-by-provider'))).toMatchObject({ entityListMatch: true, screening: { matches: [] } });
    expect((await get('owner-ru')).entityListMatch).toBe(true);
  });
});
