import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { cachedProbe } from './cached.js';

/** A readiness answer: a flag, or a flag with the checks behind it (shown in the /readyz body). */
export type Readiness = boolean | { ready: boolean; checks?: Record<string, unknown> };

export interface OpsServerOptions {
  host?: string;
  port: number;
  registry: Registry;
  isReady: () => Readiness | Promise<Readiness>;
  log: Logger;
  /** How long /readyz waits for isReady before answering 503. */
  readyTimeoutMs?: number;
  /** /readyz answers from a probe run at most once per this long (default 1 s). */
  readyCacheMs?: number;
}

export interface OpsServer {
  /** Base URL, e.g. http://127.0.0.1:9464 (the real port when 0 was asked). */
  readonly url: string;
  close(): Promise<void>;
}

/** A small HTTP server for services without one: GET /metrics, /healthz, /readyz. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const log = options.log.child({ component: 'ops-server' });
  const readyTimeoutMs = options.readyTimeoutMs ?? 2_000;
  const ready = cachedProbe(() => readiness(), options.readyCacheMs ?? 1_000);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'ops request failed');
      if (!res.headersSent) json(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://ops').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} is not allowed` } });
    }
    switch (path) {
      case '/healthz':
        return json(res, 200, { status: 'ok' });
      case '/readyz': {
        const answer = await ready();
        return json(res, answer.ready ? 200 : 503, { status: answer.ready ? 'ready' : 'not_ready', ...(answer.checks ? { checks: answer.checks } : {}), ...(answer.error ? { error: answer.error } : {}) });
      }
      case '/metrics': {
        const body = await options.registry.metrics();
        res.writeHead(200, { 'content-type': options.registry.contentType });
        res.end(body);
        return;
      }
      default:
        return json(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${path}` } });
    }
  }

  async function readiness(): Promise<{ ready: boolean; checks?: Record<string, unknown>; error?: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`readiness check took longer than ${readyTimeoutMs} ms`)), readyTimeoutMs);
    });
    try {
      const answer = await Promise.race([Promise.resolve().then(options.isReady), timeout]);
      return typeof answer === 'boolean' ? { ready: answer } : { ready: answer.ready, ...(answer.checks ? { checks: answer.checks } : {}) };
    } catch (err) {
      log.warn({ err }, 'readiness check failed');
      return { ready: false, error: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  log.info({ url }, 'ops server listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
