import { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { pinoLogCreator } from '../src/log-creator.js';

function bridge() {
  const lines: { level: number; msg: string; namespace: string }[] = [];
  const log = pino({ level: 'trace' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const forward = pinoLogCreator(log)(logLevel.DEBUG);
  const send = (level: logLevel, namespace: string, message: string) => forward({ namespace, level, label: '', log: { message, timestamp: '', logger: 'kafkajs' } });
  return { lines, send };
}

describe('the kafkajs → pino log bridge', () => {
  it('keeps real warnings and errors at their level and demotes kafkajs chatter', () => {
    const { lines, send } = bridge();
    send(logLevel.WARN, 'Consumer', 'The group is rebalancing, re-joining');
    send(logLevel.ERROR, 'Consumer', 'Crash: KafkaJSNumberOfRetriesExceeded');
    send(logLevel.ERROR, 'Connection', 'Response Metadata(key: 3, version: 6)');
    send(logLevel.INFO, 'Consumer', 'Starting');
    expect(lines.map((l) => [l.level, l.namespace])).toEqual([[40, 'Consumer'], [50, 'Consumer'], [40, 'Connection'], [20, 'Consumer']]);
  });

  it('logs the idempotent producer\'s bounded-retries notice at debug: the bound is deliberate', () => {
    const { lines, send } = bridge();
    send(logLevel.WARN, 'Producer', 'Limiting retries for the idempotent producer may invalidate EoS guarantees');
    expect(lines[0]).toMatchObject({ level: 20, namespace: 'Producer' });
  });
});
