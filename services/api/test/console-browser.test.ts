// The analyst console in a real headless Chromium (Debian's, driven by playwright-core) against the
// real API over real Redis: sign in, find the loophole group's structuring case at the top, open it,
// work it; a viewer sees no actions; a wrong key is told so. Screenshots go to test-artifacts/console/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { caseId } from '@flopwatch/contracts';
import { consoleDistDir, ensureConsoleBuilt } from '@flopwatch/console';
import { ACTOR, KEYS, startApi, type TestApi } from './helpers.js';
import { seedLoophole, type Loophole } from './console-seed.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(import.meta.dirname, '..', '..', '..', 'test-artifacts', 'console');

let api: TestApi;
let url: string;
let context: BrowserContext;
let profile: string;
let loophole: Loophole;
const cspViolations: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM) && spawnSync('sh', ['-c', 'command -v chromium']).status !== 0) {
    throw new Error('Chromium is not installed: run `apt-get install -y chromium` (Debian) to run the console tests');
  }
  ensureConsoleBuilt((msg) => console.log(`[console] ${msg}`));
  mkdirSync(ARTIFACTS, { recursive: true });
  api = await startApi({ consoleDir: consoleDistDir });
  url = await api.app.listen({ host: '127.0.0.1', port: 0 });
  loophole = await seedLoophole(api.store, api.pack, { url, adminKey: KEYS.admin }, Date.now());
  profile = mkdtempSync(join(tmpdir(), 'flopwatch-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 1000 } });
}, 120_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await api?.close();
});

/** A new tab (its own sessionStorage), recording CSP violations and page errors. */
async function tab(): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => cspViolations.push(`page error: ${e.message}`));
  return page;
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.goto(`${url}/console/`);
  await page.getByTestId('api-key').fill(key);
  await page.getByTestId('signin-submit').click();
}

const shot = (page: Page, name: string, fullPage = true) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });

describe('the analyst console in Chromium', () => {
  it('tells a wrong key clearly and keeps the visitor signed out', async () => {
    const page = await tab();
    await signIn(page, 'not-a-valid-key');
    await expect.poll(() => page.getByTestId('signin-error').textContent()).toContain('That API key was not accepted');
    expect(await page.getByTestId('queue').count()).toBe(0);
    await shot(page, 'wrong-key');
    await page.close();
  });

  it("lets an analyst find the loophole group's structuring case at the top, open it and work it", async () => {
    const page = await tab();
    await signIn(page, KEYS.analyst);
    await page.getByTestId('queue').waitFor();
    expect(await page.getByTestId('who').textContent()).toBe(`${ACTOR.analyst} (analyst)`);
    // The key lives in sessionStorage, never in the URL.
    expect(page.url()).not.toContain(KEYS.analyst);
    expect(await page.evaluate("sessionStorage.getItem('flopwatch.apiKey')")).toBe(KEYS.analyst);

    const first = page.getByTestId('queue').locator('tbody tr').first();
    expect(await first.textContent()).toContain('Structuring');
    expect(await first.textContent()).toContain(loophole.groupId);
    expect(await page.getByTestId('count-active').textContent()).toBe(`${1 + loophole.otherCases} active`);
    await shot(page, 'queue');

    await first.getByTestId('case-link').click();
    const id = caseId({ rule: 'structuring', scope: 'group', subject: loophole.groupId });
    await page.getByTestId('case-chart').waitFor();
    expect(page.url()).toBe(`${url}/console/#/cases/${id}`);
    // The chart: the cumulative series, one line per level (six in the default pack), the projected crossing.
    expect(await page.getByTestId('chart-series').count()).toBe(1);
    expect(await page.getByTestId('chart-level').count()).toBe(api.pack.levels.length);
    expect(await page.getByTestId('chart-crossing').count()).toBe(1);
    // The linked tenants: all sixteen shells, joined by shared payment cards, owner and domains.
    expect(await page.getByTestId('graph-node').count()).toBe(loophole.shells.length);
    const links = await page.getByTestId('graph-edges').textContent();
    expect(links).toContain('pf_9f2c41d7');
    // The owner is keyed by token-sorted name and the table says why it links, with the name as declared.
    expect(links).toContain('wei zhang');
    expect(links).toContain('beneficial owner: the same name');
    expect(await page.getByTestId('case-severity').textContent()).toBe('high');
    expect(await page.getByTestId('reasons').textContent()).toContain('Tier 3');
    await page.screenshot({ path: join(ARTIFACTS, 'case.png'), fullPage: true, clip: { x: 0, y: 0, width: 1400, height: 1250 } });
    await shot(page, 'case-full');

    await page.getByTestId('action-note').fill('16 accounts share a card and an owner in CN');
    await page.getByTestId('action-acknowledge').click();
    await expect.poll(() => page.getByTestId('case-status').textContent()).toBe('acknowledged');
    await page.getByTestId('assignee-input').fill('bob');
    await page.getByTestId('action-assign').click();
    await expect.poll(() => page.getByTestId('case-assignee').textContent()).toBe('assignee: bob');
    await page.getByTestId('comment-input').fill('Asked the account team for the shells’ incorporation documents.');
    await page.getByTestId('action-comment').click();
    await expect.poll(() => page.getByTestId('comments').textContent()).toContain('incorporation documents');

    await page.getByTestId('tags-input').fill('loophole, shell-network');
    await page.getByTestId('action-tags').click();
    await expect.poll(() => page.getByTestId('case-tags').textContent()).toBe('tags: loophole, shell-network');

    const history = await page.getByTestId('history').textContent();
    expect(history).toContain('acknowledge');
    expect(history).toContain('assign → bob');
    expect(history).toContain('comment');
    const audit = await page.getByTestId('audit').textContent();
    for (const action of ['case.acknowledge', 'case.assign', 'case.tag', 'case.comment']) expect(audit).toContain(action);
    await shot(page, 'case-worked');

    // The same, as the API keeps it.
    const stored = (await api.store.casebook.get(id))!;
    expect(stored).toMatchObject({ status: 'acknowledged', assignee: 'bob', tags: ['loophole', 'shell-network'] });
    expect(stored.history.slice(-4).map((e) => [e.action, e.actor])).toEqual([['acknowledge', ACTOR.analyst], ['assign', ACTOR.analyst], ['comment', ACTOR.analyst], ['tag', ACTOR.analyst]]);

    await page.getByTestId('graph-node').first().click();
    await page.getByTestId('tenant-head').waitFor();
    expect(await page.getByTestId('usage').textContent()).toContain('All time');
    expect(await page.getByTestId('group').textContent()).toContain(loophole.groupId);
    expect(await page.getByTestId('tenant-cases').textContent()).toContain('Structuring');
    await shot(page, 'tenant');
    await page.close();
  });

  it('shows a viewer no action buttons, and the API refuses a viewer anyway', async () => {
    const page = await tab();
    await signIn(page, KEYS.viewer);
    await page.getByTestId('queue').waitFor();
    expect(await page.getByTestId('bulk-ack').count()).toBe(0);
    const id = caseId({ rule: 'structuring', scope: 'group', subject: loophole.groupId });
    await page.goto(`${url}/console/#/cases/${id}`);
    await page.getByTestId('case-chart').waitFor();
    expect(await page.getByTestId('actions').count()).toBe(0);
    expect(await page.locator('[data-testid^="action-"]').count()).toBe(0);
    await shot(page, 'case-viewer');
    // The page's own key, straight at the API (the root tsconfig has no DOM types: the script is text).
    const status = await page.evaluate(`fetch('/v1/cases/${id}/transitions', { method: 'POST', headers: { authorization: 'Bearer ' + sessionStorage.getItem('flopwatch.apiKey'), 'content-type': 'application/json' }, body: JSON.stringify({ action: 'resolve', note: 'x' }) }).then((r) => r.status)`);
    expect(status).toBe(403);
    await page.close();
  });

  it('shows the behavioural links among the case tenants with their evidence, and lets an analyst dismiss one (audited)', async () => {
    const [a, b] = [...loophole.shells].sort() as [string, string];
    const linkId = `${a}~${b}`;
    // As the ingest's analysis stores a suspected pair: six co-scheduled jobs, start minutes 1,000 apart.
    await api.store.behaviourLinks.save([{
      tenants: [a, b], matched: 6, expected: 0.0123, pValue: 2.1e-12, adjustedPValue: 2.5e-10, pairsTested: 120, handoffs: [], reasons: ['co-scheduled'],
      matches: Array.from({ length: 6 }, (_, i) => ({ cluster: 'cl-1', shape: 'nvidia-h100-sxm5-80gb×64', a: { jobId: `${a}-${i}`, startMin: 29_000_000 + 1000 * i, endMin: 29_000_240 + 1000 * i }, b: { jobId: `${b}-${i}`, startMin: 29_000_001 + 1000 * i, endMin: 29_000_240 + 1000 * i } })),
    }]);
    const page = await tab();
    await signIn(page, KEYS.analyst);
    await page.getByTestId('queue').waitFor();
    await page.goto(`${url}/console/#/cases/${caseId({ rule: 'structuring', scope: 'group', subject: loophole.groupId })}`);
    await page.getByTestId('behaviour').waitFor();
    const section = await page.getByTestId('behaviour').textContent();
    expect(section).toContain('6 job pairs started and ended within the same minutes with the same shape');
    expect(section).toContain(`${a}-5`);
    expect(await page.getByTestId(`link-status-${linkId}`).textContent()).toBe('suspected');
    await page.getByTestId('link-note').fill('one customer, two teams');
    await page.getByTestId(`link-dismiss-${linkId}`).click();
    await expect.poll(() => page.getByTestId(`link-status-${linkId}`).textContent()).toBe('dismissed');
    expect(await page.getByTestId(`link-dismiss-${linkId}`).count()).toBe(0);
    expect(await page.getByTestId(`link-confirm-${linkId}`).count()).toBe(1);
    await shot(page, 'case-behaviour');
    expect((await api.store.behaviourLinks.get(linkId))?.decision).toMatchObject({ status: 'dismissed', by: ACTOR.analyst, note: 'one customer, two teams' });
    expect((await api.store.audit.list({ object: `behaviour-link:${linkId}`, limit: 5 })).entries.map((e) => [e.action, e.actor])).toEqual([['behaviour-link.dismiss', ACTOR.analyst]]);
    await page.close();
  });

  it('runs under the Content Security Policy without a single violation', () => {
    expect(cspViolations).toEqual([]);
  });
});
