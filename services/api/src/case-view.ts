// What the API shows of a case: the stored case plus its due time, and the queue's counts (the
// queue's order and the counts themselves come from the store's case indexes, case-index.ts).
import { z } from 'zod';
import { caseSchema, isClosed, type Case } from '@flopwatch/contracts';
import { caseDueAt, type PolicyPack } from '@flopwatch/policy';

export const caseViewSchema = caseSchema.extend({
  dueAt: z.string().describe('when the case is due: the pack\'s cases.dueHours for its severity, from severitySince'),
  overdue: z.boolean().describe('still active (not resolved or false positive) past dueAt'),
}).meta({ id: 'Case' });
export type CaseView = z.infer<typeof caseViewSchema>;

/** A row of the queue: the case without its evidence, comments and history. */
export const caseRowSchema = caseViewSchema.omit({ evidence: true, comments: true, history: true, hardware: true }).extend({
  alertCount: z.number().int(),
  commentCount: z.number().int(),
}).meta({ id: 'CaseRow' });
export type CaseRow = z.infer<typeof caseRowSchema>;

export function caseView(c: Case, pack: PolicyPack, now: Date): CaseView {
  const due = caseDueAt(c, pack);
  return { ...c, dueAt: due.toISOString(), overdue: !isClosed(c.status) && now.getTime() > due.getTime() };
}

export function caseRow(v: CaseView): CaseRow {
  const { evidence: _e, comments, history: _h, hardware: _hw, ...rest } = v;
  return { ...rest, alertCount: v.alerts.length, commentCount: comments.length };
}

export const countsSchema = z.object({
  active: z.number().int().describe('open, acknowledged or escalated'),
  byStatus: z.record(z.string(), z.number().int()),
  activeBySeverity: z.record(z.string(), z.number().int()),
  overdue: z.number().int(),
  unassigned: z.number().int().describe('active cases without an assignee'),
});
export type Counts = z.infer<typeof countsSchema>;
