import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALERT_RULES } from '@flopwatch/contracts';
import { RULES, renderRulesTable, withRulesTable } from '../src/index.js';
import { pack } from './fixtures.js';

const doc = readFileSync(new URL('../../../docs/rules.md', import.meta.url), 'utf8');

describe('docs/rules.md', () => {
  it('carries the rule table as the code has it (regenerate: pnpm --filter @flopwatch/policy gen:rules-doc)', () => {
    expect(withRulesTable(doc, pack)).toBe(doc);
  });

  it('has one row per rule of the contract, and the table one entry per rule', () => {
    expect(Object.keys(RULES).sort()).toEqual([...ALERT_RULES].sort());
    const rows = renderRulesTable(pack).split('\n').filter((l) => l.startsWith('| `'));
    expect(rows.map((r) => r.split('`')[1]).sort()).toEqual([...ALERT_RULES].sort());
  });
});
