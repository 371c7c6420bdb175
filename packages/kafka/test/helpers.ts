import { Writable } from 'node:stream';
import { afterEach } from 'vitest';
import { createLogger, type Logger } from '@flopwatch/runtime';
import { kafkaBrokers, uniqueId } from '@flopwatch/test-harness';
import { createKafkaClient, type KafkaClient } from '../src/index.js';

/** A logger whose records the test can read. */
export function testLogger(): { log: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n').filter(Boolean)) records.push(JSON.parse(line));
      cb();
    },
  });
  return { log: createLogger({ service: 'kafka-test', level: 'info', destination: stream }), records };
}

export function testClient(log = testLogger().log): KafkaClient {
  return createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('kafka-test'), logger: log, retry: { retries: 3, initialRetryTimeMs: 100 } });
}

/** A factory of test clients for the calling test file; each is closed after its test. */
export function testClients(): (log?: Logger) => KafkaClient {
  const clients: KafkaClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  return (log) => {
    const c = testClient(log);
    clients.push(c);
    return c;
  };
}

/** Polls `check` until it returns true or the time runs out. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
