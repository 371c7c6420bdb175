import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Counter } from 'prom-client';
import { createLogger, createMetricsRegistry, startOpsServer, type OpsServer, type Readiness } from '../src/index.js';

const silent = createLogger({ service: 'test', level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe('startOpsServer', () => {
  let server: OpsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves metrics with the service label, health, readiness and 404s', async () => {
    const registry = createMetricsRegistry({ service: 'ingest' });
    new Counter({ name: 'flopwatch_test_total', help: 'test counter', registers: [registry] }).inc(3);
    let ready: Readiness = false;
    server = await startOpsServer({ host: '127.0.0.1', port: 0, registry, isReady: () => ready, log: silent, readyCacheMs: 0 });

    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await metrics.text();
    expect(text).toContain('flopwatch_test_total{service="ingest"} 3');
    expect(text).toMatch(/process_cpu_user_seconds_total\{service="ingest"\}/);

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not_ready' });
    ready = { ready: true, checks: { kafka: 'ok' } };
    const isReady = await fetch(`${server.url}/readyz`);
    expect(isReady.status).toBe(200);
    expect(await isReady.json()).toEqual({ status: 'ready', checks: { kafka: 'ok' } });

    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await fetch(`${server.url}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('answers 503 when the readiness check throws or hangs', async () => {
    const registry = createMetricsRegistry({ service: 'notifier', collectDefault: false });
    let mode: 'throw' | 'hang' = 'throw';
    server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      log: silent,
      readyTimeoutMs: 100,
      readyCacheMs: 0,
      isReady: () => (mode === 'throw' ? Promise.reject(new Error('redis down')) : new Promise<boolean>(() => undefined)),
    });
    const thrown = await fetch(`${server.url}/readyz`);
    expect(thrown.status).toBe(503);
    expect(await thrown.json()).toEqual({ status: 'not_ready', error: 'redis down' });
    mode = 'hang';
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
  });

  it('answers /readyz from one probe per cache window, however many requests arrive', async () => {
    let probes = 0;
    let ready = true;
    server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry: createMetricsRegistry({ service: 's', collectDefault: false }),
      log: silent,
      // A window far longer than the test: every request below falls inside it.
      readyCacheMs: 600_000,
      isReady: async () => {
        probes++;
        return ready;
      },
    });
    const answers = await Promise.all(Array.from({ length: 25 }, () => fetch(`${server!.url}/readyz`).then((r) => r.status)));
    for (let i = 0; i < 25; i++) answers.push((await fetch(`${server.url}/readyz`)).status);
    expect(answers).toEqual(Array.from({ length: 50 }, () => 200));
    expect(probes).toBe(1);
    ready = false; // within the window the cached answer stands
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect(probes).toBe(1);
  });

  it('closes idempotently and stops answering', async () => {
    server = await startOpsServer({ host: '127.0.0.1', port: 0, registry: createMetricsRegistry({ service: 's', collectDefault: false }), isReady: () => true, log: silent });
    const { url } = server;
    await Promise.all([server.close(), server.close()]);
    await server.close();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
