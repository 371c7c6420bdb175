import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, createShutdown, installSignalHandlers } from '../src/index.js';

function logged() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ service: 'test', level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) });
  return { log, lines };
}

class FakeProcess extends EventEmitter {
  codes: number[] = [];
  exit(code: number) {
    this.codes.push(code);
  }
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('createShutdown', () => {
  it('closes in reverse order of registration, once, logging one line per step', async () => {
    const { log, lines } = logged();
    const order: string[] = [];
    const shutdown = createShutdown({ log, timeoutMs: 1_000 });
    shutdown.add('redis', () => void order.push('redis'));
    shutdown.add('consumer', async () => void order.push('consumer'));
    shutdown.add('ops', () => {
      order.push('ops');
      throw new Error('boom');
    });
    const [a, b] = await Promise.all([shutdown.run('SIGTERM'), shutdown.run('again')]);
    expect(order).toEqual(['ops', 'consumer', 'redis']);
    expect(a).toEqual({ ok: false, timedOut: false, failed: ['ops'] });
    expect(b).toBe(a);
    expect(lines.filter((l) => l.step).map((l) => [l.step, l.msg])).toEqual([
      ['ops', 'close failed'],
      ['consumer', 'closed'],
      ['redis', 'closed'],
    ]);
  });

  it('gives up when the steps take longer than the timeout', async () => {
    const shutdown = createShutdown({ log: logged().log, timeoutMs: 50 });
    shutdown.add('stuck', () => new Promise(() => undefined));
    expect(await shutdown.run('test')).toEqual({ ok: false, timedOut: true, failed: [] });
  });
});

describe('installSignalHandlers', () => {
  it('exits 0 after a clean shutdown on SIGTERM', async () => {
    const { log } = logged();
    const proc = new FakeProcess();
    const shutdown = createShutdown({ log });
    let closed = 0;
    shutdown.add('thing', () => void closed++);
    const remove = installSignalHandlers(shutdown, { log, target: proc });
    proc.emit('SIGTERM');
    await until(() => proc.codes.length > 0);
    expect(proc.codes).toEqual([0]);
    expect(closed).toBe(1);
    remove();
    expect(proc.listenerCount('SIGTERM')).toBe(0);
  });

  it('exits 1 at once on a second signal while closing', async () => {
    const { log } = logged();
    const proc = new FakeProcess();
    const shutdown = createShutdown({ log, timeoutMs: 5_000 });
    shutdown.add('slow', () => new Promise((r) => setTimeout(r, 200)));
    installSignalHandlers(shutdown, { log, target: proc });
    proc.emit('SIGINT');
    proc.emit('SIGTERM');
    expect(proc.codes).toEqual([1]);
  });

  it('exits 1 when the shutdown times out', async () => {
    const { log } = logged();
    const proc = new FakeProcess();
    const shutdown = createShutdown({ log, timeoutMs: 30 });
    shutdown.add('stuck', () => new Promise(() => undefined));
    installSignalHandlers(shutdown, { log, target: proc });
    proc.emit('SIGTERM');
    await until(() => proc.codes.length > 0);
    expect(proc.codes).toEqual([1]);
  });
});
