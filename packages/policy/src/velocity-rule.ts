import { alertId, type AlertScope, type Severity } from '@flopwatch/contracts';
import type { PolicyPack, VelocityBand } from './pack-schema.js';
import type { TenantRisk } from './tenant-risk.js';

const DAY_MS = 86_400_000;

/** A subject's total and trailing burn rate, for the velocity rule. */
export interface VelocityInput {
  scope: AlertScope;
  subject: string;
  totalOperations: number;
  /** The threshold the subject is heading for (thresholds.tenant for tenants and groups, frontier for lineages). */
  threshold: number;
  /** Operations per day over the trailing burn window. */
  operationsPerDay: number;
  /** Event time the projection starts from (the subject's latest counted interval end), epoch ms. */
  nowMs: number;
  risk: Pick<TenantRisk, 'tier' | 'trusted'>;
  controlledTier1Exposure: boolean;
}

/** A velocity alert to create: the level is the ordinal (1-based) of the narrowest band reached. */
export interface VelocityDraft {
  id: string;
  rule: 'velocity';
  scope: AlertScope;
  subject: string;
  level: number;
  threshold: number;
  severity: Severity;
  observedOperations: number;
  projectedCrossingAt: string;
  daysToCross: number;
  /** The band reached, in days. */
  withinDays: number;
}

/** The velocity bands in effect: the pack's, else one band of horizonDays at the rule's severity. */
export function velocityBands(pack: PolicyPack): readonly VelocityBand[] {
  const rule = pack.rules.velocity;
  return rule.bands ?? [{ withinDays: rule.horizonDays, severity: rule.severity }];
}

/**
 * The velocity alert a subject calls for: when its burn rate projects it across the threshold
 * within the horizon, one draft for the narrowest band the projected date falls in (bands skipped
 * on the way are not raised: the narrower alert supersedes them). None once the threshold is passed.
 */
export function evaluateVelocity(input: VelocityInput, pack: PolicyPack): VelocityDraft[] {
  const rule = pack.rules.velocity;
  const untrusted = input.risk.tier !== 1 || !input.risk.trusted;
  if (!rule.enabled || !untrusted || !input.controlledTier1Exposure || input.operationsPerDay <= 0) return [];
  const remaining = input.threshold - input.totalOperations;
  if (remaining <= 0) return [];
  const daysToCross = remaining / input.operationsPerDay;
  if (daysToCross > rule.horizonDays) return [];
  const bands = velocityBands(pack);
  let reached = -1;
  bands.forEach((band, i) => {
    if (daysToCross <= band.withinDays) reached = i;
  });
  const band = bands[reached];
  if (!band) return [];
  const level = reached + 1;
  return [{
    id: alertId({ rule: 'velocity', scope: input.scope, subject: input.subject, level }),
    rule: 'velocity',
    scope: input.scope,
    subject: input.subject,
    level,
    threshold: input.threshold,
    severity: band.severity,
    observedOperations: input.totalOperations,
    projectedCrossingAt: new Date(input.nowMs + daysToCross * DAY_MS).toISOString(),
    daysToCross,
    withinDays: band.withinDays,
  }];
}
