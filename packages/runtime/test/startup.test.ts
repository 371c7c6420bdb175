import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { reportStartupFailure } from '../src/index.js';

describe('reportStartupFailure', () => {
  it('logs the failure as JSON and writes the reason as plain text for the operator', () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    let plain = '';
    reportStartupFailure(log, 'ingest', new Error('invalid policy pack p.yaml:\n  - levels: expected array'), { write: (s: string) => ((plain += s), true) });
    expect(plain).toBe('ingest failed to start: invalid policy pack p.yaml:\n  - levels: expected array\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, msg: 'ingest failed to start' });
  });
});
