import { z } from 'zod';
import { ContractError } from './errors.js';
import { timestampSchema } from './ids.js';

/** Where an analyst's case stands; `resolved` and `false_positive` are final. */
export const CASE_STATUSES = ['open', 'acknowledged', 'escalated', 'resolved', 'false_positive'] as const;
export const caseStatusSchema = z.enum(CASE_STATUSES);
export type CaseStatus = z.infer<typeof caseStatusSchema>;

export const TRANSITION_ACTIONS = ['acknowledge', 'escalate', 'resolve', 'mark_false_positive'] as const;
export const transitionActionSchema = z.enum(TRANSITION_ACTIONS);
export type TransitionAction = z.infer<typeof transitionActionSchema>;

/** Body of `POST /v1/alerts/:id/transitions`; the API fills `actor` from the key when absent. */
export const alertTransitionSchema = z.object({
  action: transitionActionSchema,
  note: z.string().max(10_000).optional(),
  actor: z.string().min(1).max(256).optional(),
});
export type AlertTransition = z.infer<typeof alertTransitionSchema>;

/** One entry of a case's history: raising it, then each transition. */
export const caseHistoryEntrySchema = z.object({
  at: timestampSchema,
  action: z.union([z.literal('raise'), transitionActionSchema]),
  from: caseStatusSchema.nullable(),
  to: caseStatusSchema,
  actor: z.string().min(1).max(256),
  note: z.string().max(10_000).optional(),
});
export type CaseHistoryEntry = z.infer<typeof caseHistoryEntrySchema>;

const NEXT: Record<TransitionAction, { from: readonly CaseStatus[]; to: CaseStatus }> = {
  acknowledge: { from: ['open'], to: 'acknowledged' },
  escalate: { from: ['open', 'acknowledged'], to: 'escalated' },
  resolve: { from: ['open', 'acknowledged', 'escalated'], to: 'resolved' },
  mark_false_positive: { from: ['open', 'acknowledged', 'escalated'], to: 'false_positive' },
};

/** The status after `action`; throws ContractError `illegal_transition` when the lifecycle forbids it. */
export function applyTransition(status: CaseStatus, action: TransitionAction): CaseStatus {
  const rule = NEXT[action];
  if (!rule.from.includes(status)) {
    throw new ContractError('illegal_transition', `cannot ${action} an alert that is ${status} (allowed from: ${rule.from.join(', ')})`);
  }
  return rule.to;
}
