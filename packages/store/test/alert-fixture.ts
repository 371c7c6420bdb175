import { alertId, type Alert } from '@flopwatch/contracts';

/** A contract-valid alert as the ingest raises it; `over` sets rule, scope, subject, level, severity… */
export function makeAlert(over: Partial<Alert> = {}): Alert {
  const rule = over.rule ?? 'structuring';
  const scope = over.scope ?? 'group';
  const subject = over.subject ?? 'g-loophole';
  const level = over.level ?? 0.5;
  const raisedAt = over.raisedAt ?? new Date().toISOString();
  return {
    id: alertId({ rule, scope, subject, level }),
    rule, scope, subject, level,
    threshold: 1e26,
    observedOperations: level * 1e26,
    projectedCrossingAt: null,
    severity: 'medium',
    kyc: null,
    hardware: { countries: ['US'], tiers: [1], models: ['nvidia-h100-sxm5-80gb'] },
    evidence: { topJobs: [], contributingTenants: [{ tenantId: 'shell-01', operations: level * 5e25 }, { tenantId: 'shell-02', operations: level * 5e25 }] },
    policyVersion: 'test-1',
    status: 'open',
    history: [{ at: raisedAt, action: 'raise', from: null, to: 'open', actor: 'flopwatch-ingest' }],
    ...over,
    raisedAt,
  };
}
