import { SEVERITIES, type Alert } from '@flopwatch/contracts';
import type { WebhookFilter } from '@flopwatch/store';

/** The tenants an alert concerns: its KYC subject, a tenant-scoped subject, and contributing tenants. */
function tenantsOf(alert: Alert): Set<string> {
  const tenants = new Set(alert.evidence.contributingTenants.map((t) => t.tenantId));
  if (alert.kyc) tenants.add(alert.kyc.tenantId);
  if (alert.scope === 'tenant') tenants.add(alert.subject);
  return tenants;
}

/** Whether an endpoint with `filter` receives `alert`; empty lists match everything. */
export function matchesFilter(filter: WebhookFilter, alert: Alert): boolean {
  if (filter.minSeverity && SEVERITIES.indexOf(alert.severity) < SEVERITIES.indexOf(filter.minSeverity as Alert['severity'])) return false;
  if (filter.rules.length > 0 && !filter.rules.includes(alert.rule)) return false;
  if (filter.tenants.length > 0) {
    const tenants = tenantsOf(alert);
    if (!filter.tenants.some((t) => tenants.has(t))) return false;
  }
  return true;
}
