// Posts alerts to a Prometheus Alertmanager (API v2), so teams route them with the receivers they
// already have. Alertmanager deduplicates by label set, so posting an alert again is harmless.
import type { Alert } from '@flopwatch/contracts';
import { AppError } from '@flopwatch/runtime';

export interface AlertmanagerOptions {
  /** Base URL, e.g. http://alertmanager:9093. */
  url: string;
  /** How long an alert stays firing (flopwatch alerts are events; Alertmanager needs an end). */
  ttlMs: number;
  /** API base for generatorURL links; optional. */
  publicApiUrl?: string | undefined;
  timeoutMs?: number;
}

/** Alertmanager's postableAlert. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

const CLOSED = new Set(['resolved', 'false_positive']);

/** Maps an alert to Alertmanager's labels (identity, routing) and annotations (details). */
export function toPostableAlert(alert: Alert, options: AlertmanagerOptions, now = new Date()): PostableAlert {
  const labels: Record<string, string> = {
    alertname: 'FlopwatchComplianceAlert',
    alert_id: alert.id,
    rule: alert.rule,
    scope: alert.scope,
    subject: alert.subject,
    severity: alert.severity,
    level: String(alert.level),
    policy_version: alert.policyVersion,
  };
  if (alert.kyc) {
    labels.tenant = alert.kyc.tenantId;
    labels.tier = String(alert.kyc.tier);
    labels.kyc_status = alert.kyc.kycStatus;
  }
  const pct = Math.round(alert.level * 100);
  const annotations: Record<string, string> = {
    summary: `${alert.scope} ${alert.subject} reached ${pct}% of ${alert.threshold.toExponential(2)} operations (${alert.rule})`,
    description: `Observed ${alert.observedOperations.toExponential(3)} operations against a threshold of ${alert.threshold.toExponential(3)}; case status ${alert.status}.`,
    observed_operations: String(alert.observedOperations),
    threshold: String(alert.threshold),
    status: alert.status,
    raised_at: alert.raisedAt,
  };
  if (alert.projectedCrossingAt) annotations.projected_crossing_at = alert.projectedCrossingAt;
  if (alert.hardware.countries.length > 0) annotations.hardware_countries = alert.hardware.countries.join(',');
  const startsAt = alert.raisedAt;
  const endsAt = CLOSED.has(alert.status) ? now.toISOString() : new Date(Math.max(Date.parse(startsAt), now.getTime()) + options.ttlMs).toISOString();
  return {
    labels,
    annotations,
    startsAt,
    endsAt,
    ...(options.publicApiUrl ? { generatorURL: `${options.publicApiUrl.replace(/\/$/, '')}/v1/alerts/${alert.id}` } : {}),
  };
}

/** POST /api/v2/alerts; throws a retryable AppError when Alertmanager does not take them. */
export async function postAlerts(options: AlertmanagerOptions, alerts: PostableAlert[]): Promise<void> {
  const url = `${options.url.replace(/\/$/, '')}/api/v2/alerts`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new AppError('ALERTMANAGER_UNAVAILABLE', `cannot reach Alertmanager at ${url}`, { cause: err, retryable: true });
  }
  if (!res.ok) {
    const body = (await res.text().catch(() => '')).slice(0, 500);
    throw new AppError('ALERTMANAGER_REJECTED', `Alertmanager answered ${res.status}`, { retryable: res.status >= 500 || res.status === 429, details: { status: res.status, body } });
  }
}
