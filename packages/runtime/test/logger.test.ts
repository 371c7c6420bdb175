import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('never writes secrets, API keys, authorization headers or webhook signatures', async () => {
    const out = capture();
    const log = createLogger({ service: 'test', destination: out.stream }).child({ component: 'unit' });
    log.info({ req: { headers: { authorization: 'Bearer SECRET-1', 'x-api-key': 'SECRET-2', host: 'h' } } }, 'request');
    log.info({ headers: { 'webhook-signature': 'v1,SECRET-3', 'webhook-id': 'msg_1' } }, 'delivery');
    log.info({ webhook: { secret: 'whsec_SECRET-4', url: 'https://x' }, password: 'SECRET-5', apiKey: 'SECRET-6' }, 'config');
    log.info({ endpoint: { apiKey: 'SECRET-7' }, token: 'SECRET-8' }, 'other');
    await new Promise((r) => setImmediate(r));
    const text = out.lines.join('\n');
    expect(text).not.toMatch(/SECRET-\d/);
    const [req, delivery, config] = out.records();
    expect(req).toMatchObject({ level: 'info', service: 'test', component: 'unit', msg: 'request', req: { headers: { authorization: '[redacted]', host: 'h' } } });
    expect(delivery).toMatchObject({ headers: { 'webhook-signature': '[redacted]', 'webhook-id': 'msg_1' } });
    expect(config).toMatchObject({ webhook: { secret: '[redacted]', url: 'https://x' }, password: '[redacted]' });
    expect(typeof req?.time).toBe('string');
  });

  it('respects the level', () => {
    const out = capture();
    const log = createLogger({ service: 'test', level: 'warn', destination: out.stream });
    log.info('hidden');
    log.warn('shown');
    expect(out.records().map((r) => r.msg)).toEqual(['shown']);
  });
});
