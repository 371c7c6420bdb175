import type { AlertRule, AlertScope, Severity } from '@flopwatch/contracts';

/** The rule-decided fields of an alert. */
export interface Draft {
  id: string;
  rule: AlertRule;
  scope: AlertScope;
  subject: string;
  level: number;
  threshold: number;
  severity: Severity;
  observedOperations: number;
}

/** An alert a subject's state calls for, with what its evidence is built from. */
export interface Candidate {
  draft: Draft;
  projectedCrossingAt: string | null;
  /** Whose KYC snapshot the alert carries: the riskiest tenant involved. */
  kycTenant: string;
  /** Contributing tenants → tera-operations (evidence; hardware context is their union). */
  tenants: Map<string, number>;
  /** Jobs to show instead of the contributors' largest (e.g. the jobs holding a cluster). */
  jobs?: { tenantId: string; jobId: string; teraOps: number }[];
  /** Why it fired, in an analyst's words; the first of the alert's reasons. */
  why: string;
}

export const fmtOps = (ops: number) => ops.toExponential(2).replace('e+', 'e');
export const pct = (part: number, whole: number) => `${whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0} %`;
