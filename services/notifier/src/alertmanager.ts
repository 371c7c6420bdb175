// Alertmanager's client contract (API v2): one alert per case, re-sent while the case is open with an
// endsAt a few re-send intervals ahead (as Prometheus does), and sent once more with endsAt = now when
// the case is closed. Alertmanager identifies an alert by its label set, so the labels carry only the
// case and what receivers route on; everything that changes (level, policy version) is an annotation.
import { caseId, describeLevel, type Alert } from '@flopwatch/contracts';
import { AppError } from '@flopwatch/runtime';

export interface AlertmanagerOptions {
  /** Base URL, e.g. http://alertmanager:9093. */
  url: string;
  /** How often an open case is sent again. */
  resendIntervalMs: number;
  /** Base URL of the API, whose /console opens the case (generatorURL); optional. */
  publicApiUrl?: string | undefined;
  timeoutMs?: number;
  /** Authorization header value (Basic or Bearer), from the ALERTMANAGER_* credential settings. */
  authorization?: string | undefined;
}

/** Alertmanager's postableAlert. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** An open case stays firing this many re-send intervals after the last send (Prometheus uses 4). */
export const ENDS_AT_INTERVALS = 4;

/** The console page of a case. */
export function caseUrl(publicApiUrl: string, id: string): string {
  return `${publicApiUrl.replace(/\/$/, '')}/console/#/cases/${id}`;
}

/** The alert that speaks for a case: its highest level (the latest escalation). */
export function representative<A extends Pick<Alert, 'level'>>(alerts: A[]): A | undefined {
  return alerts.reduce<A | undefined>((best, a) => (best === undefined || a.level > best.level ? a : best), undefined);
}

/**
 * Maps a case — its alerts and whether it is open — to Alertmanager's labels (identity, routing) and
 * annotations (details). `alerts` must not be empty.
 */
export function toPostableAlert(alerts: Alert[], open: boolean, options: AlertmanagerOptions, now = new Date()): PostableAlert {
  const alert = representative(alerts)!;
  const id = caseId(alert);
  const labels: Record<string, string> = {
    alertname: 'FlopwatchComplianceAlert',
    case_id: id,
    rule: alert.rule,
    scope: alert.scope,
    subject: alert.subject,
    severity: alert.severity,
  };
  if (alert.kyc) {
    labels.tenant = alert.kyc.tenantId;
    labels.tier = String(alert.kyc.tier);
    labels.kyc_status = alert.kyc.kycStatus;
  }
  const annotations: Record<string, string> = {
    // What the level means comes from the alert's levelBasis (a fraction, a band, or a limit).
    summary: describeLevel(alert),
    description: `${alert.levelBasis?.kind === 'limit' && alert.levelBasis.quantity === 'h100e' ? `Holds ${Math.round(alert.levelBasis.observed)} H100-equivalents against a limit of ${alert.levelBasis.limit}` : `Observed ${alert.observedOperations.toExponential(3)} operations against ${alert.levelBasis?.kind === 'limit' ? 'a limit' : 'a threshold'} of ${alert.threshold.toExponential(3)}`}${alert.evidence.measure ? ` (measure ${alert.evidence.measure.name})` : ''}; case ${open ? 'open' : 'closed'} (alert status ${alert.status}).`,
    alert_id: alert.id,
    level: String(alert.level),
    policy_version: alert.policyVersion,
    observed_operations: String(alert.observedOperations),
    threshold: String(alert.threshold),
    status: alert.status,
    raised_at: alert.raisedAt,
  };
  if (alert.projectedCrossingAt) annotations.projected_crossing_at = alert.projectedCrossingAt;
  if (alert.hardware.countries.length > 0) annotations.hardware_countries = alert.hardware.countries.join(',');
  const startsAt = alerts.map((a) => a.raisedAt).sort()[0]!;
  const endsAt = open ? new Date(Math.max(Date.parse(startsAt), now.getTime()) + ENDS_AT_INTERVALS * options.resendIntervalMs).toISOString() : now.toISOString();
  return {
    labels,
    annotations,
    startsAt,
    endsAt,
    ...(options.publicApiUrl ? { generatorURL: caseUrl(options.publicApiUrl, id) } : {}),
  };
}

// 4xx answers that say "later": timeout, too early, too many requests.
const TRANSIENT_4XX = new Set([408, 425, 429]);

/** POST /api/v2/alerts; throws an AppError, retryable unless Alertmanager rejected the alerts (4xx, e.g. 400). */
export async function postAlerts(options: AlertmanagerOptions, alerts: PostableAlert[]): Promise<void> {
  const url = `${options.url.replace(/\/$/, '')}/api/v2/alerts`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(options.authorization ? { authorization: options.authorization } : {}) },
      body: JSON.stringify(alerts),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new AppError('ALERTMANAGER_UNAVAILABLE', `cannot reach Alertmanager at ${url}`, { cause: err, retryable: true });
  }
  if (!res.ok) {
    const body = (await res.text().catch(() => '')).slice(0, 500);
    const retryable = res.status >= 500 || TRANSIENT_4XX.has(res.status) || res.status < 400;
    throw new AppError('ALERTMANAGER_REJECTED', `Alertmanager answered ${res.status}`, { retryable, details: { status: res.status, body } });
  }
}
