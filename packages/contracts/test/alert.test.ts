import { describe, expect, it } from 'vitest';
import { alertId, applyTransition, CASE_STATUSES, TRANSITION_ACTIONS, type CaseStatus, type TransitionAction } from '../src/index.js';

describe('alertId', () => {
  const key = { rule: 'frontier-approach', scope: 'lineage', subject: 'tenant-42/model-x', level: 0.5 } as const;

  it('is the same for the same rule, scope, subject and level', () => {
    expect(alertId(key)).toBe(alertId({ ...key }));
    expect(alertId(key)).toMatch(/^al_[0-9a-f]{24}$/);
  });

  it.each([
    ['level', { ...key, level: 0.8 }],
    ['subject', { ...key, subject: 'tenant-42/model-y' }],
    ['scope', { ...key, scope: 'tenant' as const }],
    ['rule', { ...key, rule: 'lineage-laundering' as const }],
  ])('differs when the %s differs', (_field, other) => {
    expect(alertId(other)).not.toBe(alertId(key));
  });
});

describe('applyTransition', () => {
  const legal: Array<[CaseStatus, TransitionAction, CaseStatus]> = [
    ['open', 'acknowledge', 'acknowledged'],
    ['open', 'escalate', 'escalated'],
    ['open', 'resolve', 'resolved'],
    ['open', 'mark_false_positive', 'false_positive'],
    ['acknowledged', 'escalate', 'escalated'],
    ['acknowledged', 'resolve', 'resolved'],
    ['acknowledged', 'mark_false_positive', 'false_positive'],
    ['escalated', 'resolve', 'resolved'],
    ['escalated', 'mark_false_positive', 'false_positive'],
  ];

  it.each(legal)('moves %s through %s to %s', (from, action, to) => {
    expect(applyTransition(from, action)).toBe(to);
  });

  const illegal = CASE_STATUSES.flatMap((from) => TRANSITION_ACTIONS.map((action) => [from, action] as const)).filter(
    ([from, action]) => !legal.some(([f, a]) => f === from && a === action),
  );

  it.each(illegal)('refuses to move %s through %s with code illegal_transition', (from, action) => {
    expect(() => applyTransition(from, action)).toThrow(expect.objectContaining({ code: 'illegal_transition' }));
  });
});
