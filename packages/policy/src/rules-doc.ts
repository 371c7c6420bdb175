import type { Measure } from '@flopwatch/contracts';
import type { PolicyPack } from './pack-schema.js';
import { RULES } from './rules.js';

export const RULES_DOC_BEGIN = '<!-- rules-table:begin (generated from packages/policy/src/rules.ts: pnpm --filter @flopwatch/policy gen:rules-doc) -->';
export const RULES_DOC_END = '<!-- rules-table:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The rule table of docs/rules.md, from the rule table and a pack (the default pack's settings shown). */
export function renderRulesTable(pack: PolicyPack): string {
  const head = ['| rule | scope | level means | measures (this pack) | levels (this pack) | prefilter | catches |', '|---|---|---|---|---|---|---|'];
  const meaning = { threshold: 'fraction of the threshold', banded: 'band index (`levelBasis.band`, `withinDays`)', limit: 'observed figure against its limit (`levelBasis.limit`)' } as const;
  const rows = Object.values(RULES).map((r) => {
    const measure = 'measure' in pack.rules[r.rule] ? `\`${(pack.rules[r.rule] as { measure: Measure }).measure}\`: ` : '';
    const levels = r.levels(pack).map((l) => `${l.label} → ${l.severity}`).join('; ');
    return `| \`${r.rule}\` | ${r.scopes.join(', ')} | ${meaning[r.kind]} | ${cell(measure + r.quantity(pack))} | ${cell(levels)} | ${cell(r.prefilter.text)} | ${cell(r.explanation)} |`;
  });
  return [RULES_DOC_BEGIN, ...head, ...rows, RULES_DOC_END].join('\n');
}

/** docs/rules.md with its generated table replaced by the current one. */
export function withRulesTable(doc: string, pack: PolicyPack): string {
  const start = doc.indexOf(RULES_DOC_BEGIN);
  const end = doc.indexOf(RULES_DOC_END);
  if (start < 0 || end < start) throw new Error('docs/rules.md has no generated rule table markers');
  return doc.slice(0, start) + renderRulesTable(pack) + doc.slice(end + RULES_DOC_END.length);
}
