import type { Alert } from '@flopwatch/contracts';
import type { Store } from '@flopwatch/store';

/** Alerts raised since `sinceMs` (by raisedAt), oldest first, straight from the store's index. */
export async function readAlerts(store: Store, sinceMs = 0): Promise<Alert[]> {
  return store.alerts.since<Alert>(sinceMs);
}

/** Whether an alert concerns a tenant: its subject, its KYC snapshot, or a contributor. */
export function alertConcerns(alert: Alert, tenantId: string): boolean {
  return alert.subject === tenantId || alert.kyc?.tenantId === tenantId || alert.evidence.contributingTenants.some((t) => t.tenantId === tenantId);
}
