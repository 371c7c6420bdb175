import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleDistDir, ensureConsoleBuilt } from '@flopwatch/console';
import { startApi, type TestApi } from './helpers.js';

let api: TestApi;
beforeAll(async () => {
  ensureConsoleBuilt((msg) => console.log(`[console] ${msg}`));
  api = await startApi({ consoleDir: consoleDistDir });
});
afterAll(async () => api?.close());

describe('the console at /console', () => {
  it('serves the built page and its assets with a strict Content Security Policy and nothing inline', async () => {
    expect((await api.app.inject({ url: '/console' })).headers.location).toBe('/console/');
    const page = await api.app.inject({ url: '/console/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    // Every script and stylesheet is a file of this origin; no inline script, style or handler.
    expect(page.body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(page.body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...page.body.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    for (const a of assets) {
      const res = await api.app.inject({ url: a });
      expect(res.statusCode, a).toBe(200);
      expect(res.headers['content-security-policy']).toBe(csp);
    }
  });

  it('answers 503 naming the build command when the console is not built', async () => {
    const bare = await startApi({ consoleDir: '/nonexistent/flopwatch-console' });
    try {
      const res = await bare.app.inject({ url: '/console/' });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.message).toContain('pnpm --filter @flopwatch/console build');
    } finally {
      await bare.close();
    }
  });
});
