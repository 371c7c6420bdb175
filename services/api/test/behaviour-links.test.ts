import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseId, type PairEvidence } from '@flopwatch/contracts';
import { linkIdOf, suspectedGroupId } from '@flopwatch/store';
import { ACTOR, auth, raiseAlert, startApi, type TestApi } from './helpers.js';

// The behavioural-link answers: list, confirm/dismiss (audited, roles), the case page's evidence.
// The links are stored as the ingest's analysis stores them (store.behaviourLinks.save).

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => api.close());

const pair = (a: string, b: string, matched: number): PairEvidence => ({
  tenants: [a, b], matched, expected: 0.01, pValue: 1e-12, adjustedPValue: 1e-10, pairsTested: 100, handoffs: [], reasons: ['co-scheduled'],
  matches: Array.from({ length: matched }, (_, i) => ({ cluster: 'cl-1', shape: 'h100×64', a: { jobId: `${a}-${i}`, startMin: 1000 * i, endMin: 1000 * i + 240 }, b: { jobId: `${b}-${i}`, startMin: 1000 * i + 1, endMin: 1000 * i + 240 } })),
});

describe('behavioural links API', () => {
  it('lists links and groups, confirms and dismisses with an audit entry, keeps a dismissal through a later analysis, and shows the links on the case', async () => {
    await api.store.behaviourLinks.save([pair('s-a', 's-b', 6), pair('s-b', 's-c', 5)]);
    const get = (url: string, role: 'viewer' | 'analyst' = 'viewer') => api.app.inject({ method: 'GET', url, headers: auth(role) });
    const post = (url: string, body: object, role: 'viewer' | 'analyst' = 'analyst') => api.app.inject({ method: 'POST', url, headers: auth(role), payload: body });

    const listed = await get('/v1/behaviour-links');
    expect(listed.statusCode).toBe(200);
    expect(listed.json().links.map((l: { id: string; status: string; evidence: { matched: number } }) => [l.id, l.status, l.evidence.matched])).toEqual([['s-a~s-b', 'suspected', 6], ['s-b~s-c', 'suspected', 5]]);
    expect(listed.json().groups).toEqual([{ id: suspectedGroupId(['s-a', 's-b', 's-c']), members: ['s-a', 's-b', 's-c'], links: ['s-a~s-b', 's-b~s-c'] }]);

    // Viewers read, analysts decide; an unknown link is 404, a malformed id 400.
    expect((await post('/v1/behaviour-links/s-a~s-b/dismiss', {}, 'viewer')).statusCode).toBe(403);
    expect((await post('/v1/behaviour-links/x~y/confirm', {})).statusCode).toBe(404);
    expect((await post('/v1/behaviour-links/nonsense/confirm', {})).statusCode).toBe(400);

    const dismissed = await post(`/v1/behaviour-links/${linkIdOf('s-c', 's-b')}/dismiss`, { note: 'two teams of one customer' });
    expect(dismissed.statusCode).toBe(200);
    expect(dismissed.json()).toMatchObject({ id: 's-b~s-c', status: 'dismissed', decision: { status: 'dismissed', by: ACTOR.analyst, note: 'two teams of one customer' } });
    expect((await post('/v1/behaviour-links/s-a~s-b/confirm', {})).json().status).toBe('confirmed');

    // A later analysis finding the same pair again keeps the decision.
    await api.store.behaviourLinks.save([pair('s-b', 's-c', 7)]);
    const after = (await get('/v1/behaviour-links?tenant=s-c')).json();
    expect(after.links.map((l: { id: string; status: string; evidence: { matched: number } }) => [l.id, l.status, l.evidence.matched])).toEqual([['s-b~s-c', 'dismissed', 7]]);
    expect(after.groups).toEqual([]);
    expect((await get('/v1/behaviour-links?status=confirmed')).json().links.map((l: { id: string }) => l.id)).toEqual(['s-a~s-b']);

    const audit = (await get('/v1/audit?limit=50', 'analyst')).json().entries as { action: string; object: string; actor: string }[];
    expect(audit.filter((e) => e.object.startsWith('behaviour-link:')).map((e) => [e.action, e.object, e.actor])).toEqual([
      ['behaviour-link.confirm', 'behaviour-link:s-a~s-b', ACTOR.analyst],
      ['behaviour-link.dismiss', 'behaviour-link:s-b~s-c', ACTOR.analyst],
    ]);

    // The case of a suspected group shows the links among its tenants with their evidence.
    const group = suspectedGroupId(['s-a', 's-b']);
    await raiseAlert(api.store, { rule: 'structuring', scope: 'group', subject: group, level: 0.25, severity: 'info', kyc: null, evidence: { topJobs: [], contributingTenants: [{ tenantId: 's-a', operations: 2e25 }, { tenantId: 's-b', operations: 2e25 }] } });
    const detail = await get(`/v1/cases/${caseId({ rule: 'structuring', scope: 'group', subject: group })}`);
    expect(detail.statusCode).toBe(200);
    expect(detail.json().behaviour.map((l: { id: string; status: string; evidence: { matches: unknown[] } }) => [l.id, l.status, l.evidence.matches.length])).toEqual([['s-a~s-b', 'confirmed', 6], ['s-b~s-c', 'dismissed', 7]]);
  });
});
