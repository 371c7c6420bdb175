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

  it('removes URL credentials from the message and stack of a logged error, and its cause', async () => {
    const out = capture();
    const log = createLogger({ service: 'test', destination: out.stream });
    const cause = new Error('connect to redis://:SECRET-1@r1:6379,redis://:SECRET-2@r2:6379 failed');
    log.error({ err: new Error('cannot reach http://am:SECRET-3@am:9093/api/v2/alerts', { cause }) }, 'failed');
    log.warn({ err: 'redis://u:SECRET-4@r3:6379 refused' }, 'as text');
    await new Promise((r) => setImmediate(r));
    expect(out.lines.join('\n')).not.toMatch(/SECRET-\d/);
    const [failed, text] = out.records();
    // pino's error serializer appends the cause's message: both are covered.
    expect(failed).toMatchObject({ err: { message: 'cannot reach http://am:[redacted]@am:9093/api/v2/alerts: connect to redis://:[redacted]@r1:6379,redis://:[redacted]@r2:6379 failed', type: 'Error' } });
    expect(text).toMatchObject({ err: 'redis://u:[redacted]@r3:6379 refused' });
  });

  it('hides the arguments of a failed AUTH that a Redis client error carries', async () => {
    const out = capture();
    const log = createLogger({ service: 'test', destination: out.stream });
    log.error({ err: Object.assign(new Error('WRONGPASS invalid username-password pair'), { command: { name: 'auth', args: ['SECRET-1'] } }) }, 'close failed');
    log.error({ err: Object.assign(new Error('WRONGTYPE'), { command: { name: 'get', args: ['fw:key'] } }) }, 'other');
    await new Promise((r) => setImmediate(r));
    expect(out.lines.join('\n')).not.toContain('SECRET-1');
    const [auth, get] = out.records();
    expect(auth).toMatchObject({ err: { command: { name: 'auth', args: ['[redacted]'] } } });
    expect(get).toMatchObject({ err: { command: { name: 'get', args: ['fw:key'] } } });
  });

  it('respects the level', () => {
    const out = capture();
    const log = createLogger({ service: 'test', level: 'warn', destination: out.stream });
    log.info('hidden');
    log.warn('shown');
    expect(out.records().map((r) => r.msg)).toEqual(['shown']);
  });
});
