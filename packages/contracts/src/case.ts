import { z } from 'zod';
import { alertRuleSchema, alertScopeSchema, SEVERITIES, severitySchema, type Severity } from './alert-rule.js';
import { caseStatusSchema, type CaseStatus } from './alert-case.js';
import { caseId, evidenceSchema, hardwareContextSchema, kycSnapshotSchema, levelBasisSchema, type Alert } from './alert.js';
import { timestampSchema } from './ids.js';

/** What happened to a case: opened by an alert, a higher level, a reopening, or an analyst's action. */
export const CASE_EVENTS = ['open', 'level', 'reopen', 'acknowledge', 'escalate', 'resolve', 'mark_false_positive', 'assign', 'comment', 'tag'] as const;

/** One entry of a case's history. */
export const caseEventSchema = z.object({
  at: timestampSchema,
  action: z.enum(CASE_EVENTS),
  actor: z.string().min(1).max(256),
  from: caseStatusSchema.nullable(),
  to: caseStatusSchema,
  note: z.string().max(10_000).optional(),
  /** For open / level / reopen: the alert and level that caused it. */
  alertId: z.string().optional(),
  level: z.number().optional(),
  severity: severitySchema.optional(),
  /** For assign: the new assignee (null: unassigned). */
  assignee: z.string().nullable().optional(),
});
export type CaseEvent = z.infer<typeof caseEventSchema>;

export const caseCommentSchema = z.object({ id: z.string(), at: timestampSchema, actor: z.string(), text: z.string().max(10_000) });
export type CaseComment = z.infer<typeof caseCommentSchema>;

/** A case holds at most this many comments: one more is refused (409 LIMIT_REACHED in the API). */
export const MAX_CASE_COMMENTS = 500;
/**
 * A case keeps its newest MAX_CASE_HISTORY events; older ones leave the case, counted in
 * `historyDropped` (every change stays in the audit log, which the case page shows whole).
 */
export const MAX_CASE_HISTORY = 1_000;

/** An alert as a case lists it. */
export const caseAlertSchema = z.object({ id: z.string(), level: z.number(), severity: severitySchema, raisedAt: timestampSchema, observedOperations: z.number() });

/**
 * A case: every alert of one rule for one subject (rule + scope + subject). Each new level is an
 * escalation inside it; the measured figures, KYC snapshot and evidence are those of its highest level.
 */
export const caseSchema = z.object({
  id: z.string().regex(/^cs_[0-9a-f]{24}$/),
  rule: alertRuleSchema,
  scope: alertScopeSchema,
  subject: z.string(),
  status: caseStatusSchema,
  severity: severitySchema,
  level: z.number(),
  /** What `level` means for the highest alert (a fraction, a velocity band, a limit); absent for alerts of schema version 1. */
  levelBasis: levelBasisSchema.optional(),
  threshold: z.number(),
  observedOperations: z.number(),
  projectedCrossingAt: timestampSchema.nullable(),
  /** The KYC tenant and every contributing tenant (for filtering by tenant). */
  tenants: z.array(z.string()),
  kyc: kycSnapshotSchema.nullable(),
  hardware: hardwareContextSchema,
  evidence: evidenceSchema,
  alerts: z.array(caseAlertSchema),
  assignee: z.string().nullable(),
  tags: z.array(z.string().max(64)).max(32),
  comments: z.array(caseCommentSchema),
  history: z.array(caseEventSchema),
  /** How many of the oldest events left the history (it keeps the newest MAX_CASE_HISTORY); absent when none. */
  historyDropped: z.number().int().min(1).optional(),
  openedAt: timestampSchema,
  updatedAt: timestampSchema,
  /** When the current severity was set or the case reopened: the due time counts from here. */
  severitySince: timestampSchema,
  policyVersion: z.string(),
});
export type Case = z.infer<typeof caseSchema>;

/** The history with one more event, keeping the newest MAX_CASE_HISTORY (the rest counted in historyDropped). */
export function withEvent(c: Pick<Case, 'history' | 'historyDropped'>, event: CaseEvent): Pick<Case, 'history' | 'historyDropped'> {
  const history = [...c.history, event];
  const over = history.length - MAX_CASE_HISTORY;
  if (over <= 0) return c.historyDropped === undefined ? { history } : { history, historyDropped: c.historyDropped };
  return { history: history.slice(over), historyDropped: (c.historyDropped ?? 0) + over };
}

/** True for statuses an analyst has closed. */
export const isClosed = (s: CaseStatus) => s === 'resolved' || s === 'false_positive';

const rank = (s: Severity) => SEVERITIES.indexOf(s);

/**
 * The case after `alert`: opened by its first alert; a higher level raises the figures and the
 * severity (never lowers it) and reopens a closed case. A lower level raised late is only listed.
 */
export function caseWithAlert(current: Case | null, alert: Alert, actor: string): Case {
  const entry = { id: alert.id, level: alert.level, severity: alert.severity, raisedAt: alert.raisedAt, observedOperations: alert.observedOperations };
  const tenants = [...new Set([...(alert.kyc ? [alert.kyc.tenantId] : []), ...alert.evidence.contributingTenants.map((c) => c.tenantId)])];
  const figures = {
    level: alert.level, ...(alert.levelBasis ? { levelBasis: alert.levelBasis } : {}), threshold: alert.threshold, observedOperations: alert.observedOperations, projectedCrossingAt: alert.projectedCrossingAt,
    kyc: alert.kyc, hardware: alert.hardware, evidence: alert.evidence, policyVersion: alert.policyVersion,
  };
  const at = alert.raisedAt;
  if (!current) {
    return {
      id: caseId(alert), rule: alert.rule, scope: alert.scope, subject: alert.subject, status: 'open', severity: alert.severity,
      ...figures, tenants, alerts: [entry], assignee: null, tags: [], comments: [],
      history: [{ at, action: 'open', actor, from: null, to: 'open', alertId: alert.id, level: alert.level, severity: alert.severity }],
      openedAt: at, updatedAt: at, severitySince: at,
    };
  }
  const alerts = [...current.alerts.filter((a) => a.id !== alert.id), entry].sort((a, b) => a.level - b.level);
  const merged = { ...current, alerts, tenants: [...new Set([...current.tenants, ...tenants])], updatedAt: at };
  if (alert.level <= current.level) return merged;
  const severity = rank(alert.severity) > rank(current.severity) ? alert.severity : current.severity;
  const reopen = isClosed(current.status);
  const status: CaseStatus = reopen ? 'open' : current.status;
  return {
    ...merged, ...figures, severity, status,
    severitySince: reopen || severity !== current.severity ? at : current.severitySince,
    ...withEvent(current, { at, action: reopen ? 'reopen' : 'level', actor, from: current.status, to: status, alertId: alert.id, level: alert.level, severity }),
  };
}

/** What the audit log records of a case: the fields a change moves. */
export const caseSummary = (c: Case | null) =>
  c ? { status: c.status, severity: c.severity, level: c.level, assignee: c.assignee, tags: c.tags, comments: c.comments.length } : null;
