import { alertId, type AlertRule, type AlertScope, type Severity } from '@flopwatch/contracts';
import { PolicyError } from './errors.js';
import { levelOperations, levelsReached } from './levels.js';
import type { Level, PolicyPack } from './pack-schema.js';
import type { TenantRisk } from './tenant-risk.js';

/** Rules decided by one subject's total operations (the others need a burn rate or a cluster size). */
export type ThresholdRule = Exclude<AlertRule, 'velocity' | 'large-untrusted-cluster'>;

/** The scope each threshold rule applies to (its first scope, where it has several). */
export const THRESHOLD_RULE_SCOPE: Readonly<Record<ThresholdRule, AlertScope>> = {
  'frontier-approach': 'lineage',
  'lineage-laundering': 'lineage',
  'tenant-approach': 'tenant',
  'unverified-at-scale': 'tenant',
  'parent-in-tier3': 'tenant',
  structuring: 'group',
};

/** Every scope a threshold rule applies to: structuring also covers one lineage fed by several tenants. */
export const THRESHOLD_RULE_SCOPES: Readonly<Record<ThresholdRule, readonly AlertScope[]>> = {
  'frontier-approach': ['lineage'],
  'lineage-laundering': ['lineage'],
  'tenant-approach': ['tenant'],
  'unverified-at-scale': ['tenant'],
  'parent-in-tier3': ['tenant'],
  structuring: ['group', 'lineage'],
};

/** A subject's standing for one rule. */
export interface ThresholdRuleInput {
  rule: ThresholdRule;
  scope: AlertScope;
  subject: string;
  totalOperations: number;
  /** The risk of the tenant, or the worst over a group's / lineage's tenants. */
  risk: Pick<TenantRisk, 'tier' | 'trusted'>;
  /** The subject has operations on controlled (3A090) hardware located in a Tier 1 country. */
  controlledTier1Exposure: boolean;
  /** Members of the group (structuring) or distinct tenants along the lineage's ancestry (lineage-laundering). */
  linkedCount?: number;
  /**
   * Structuring: the largest single member's (or feeding tenant's) operations. A level that member
   * reached alone is not structuring at that level (the member's own rules cover it).
   */
  largestMemberOperations?: number;
  /** Lineage-laundering: links along the ancestry inferred from checkpoints rather than declared. */
  inferredLinks?: number;
}

/** An alert to create (idempotently, by id) with the fields the rule decides. */
export interface AlertDraft {
  id: string;
  rule: ThresholdRule;
  scope: AlertScope;
  subject: string;
  level: number;
  threshold: number;
  severity: Severity;
  observedOperations: number;
}

/** The alerts that should exist for a subject under one rule, one per level its total has reached. */
export function evaluateThresholdRule(input: ThresholdRuleInput, pack: PolicyPack): AlertDraft[] {
  const expected = THRESHOLD_RULE_SCOPES[input.rule];
  if (!expected.includes(input.scope)) {
    throw new PolicyError('rule_scope_mismatch', `rule ${input.rule} applies to scope ${expected.join(' or ')}, not ${input.scope}`);
  }
  const setting = ruleSetting(input, pack);
  // The cloud loophole: only untrusted parties on controlled Tier 1 hardware are in question.
  if (!setting || !input.controlledTier1Exposure) return [];
  const alone = input.rule === 'structuring' ? (input.largestMemberOperations ?? 0) : -1;
  const reached = levelsReached(input.totalOperations, setting.threshold, setting.levels);
  return reached.filter((level) => levelOperations(level, setting.threshold) > alone).map((level) => ({
    id: alertId({ rule: input.rule, scope: input.scope, subject: input.subject, level: level.fraction }),
    rule: input.rule,
    scope: input.scope,
    subject: input.subject,
    level: level.fraction,
    threshold: setting.threshold,
    severity: level.severity,
    observedOperations: input.totalOperations,
  }));
}

/** Threshold and levels of an enabled rule that applies to this subject, else undefined. */
function ruleSetting(input: ThresholdRuleInput, pack: PolicyPack): { threshold: number; levels: readonly Level[] } | undefined {
  const { rules, thresholds } = pack;
  const untrusted = input.risk.tier !== 1 || !input.risk.trusted;
  const linked = input.linkedCount ?? 1;
  switch (input.rule) {
    case 'frontier-approach': {
      const rule = rules['frontier-approach'];
      return rule.enabled && untrusted ? { threshold: thresholds.frontier.operations, levels: rule.levels ?? pack.levels } : undefined;
    }
    case 'lineage-laundering': {
      const rule = rules['lineage-laundering'];
      const applies = rule.enabled && untrusted && (linked >= rule.minTenants || (input.inferredLinks ?? 0) > 0);
      return applies ? { threshold: thresholds.frontier.operations, levels: rule.levels ?? pack.levels } : undefined;
    }
    case 'tenant-approach': {
      const rule = rules['tenant-approach'];
      return rule.enabled && untrusted ? { threshold: thresholds.tenant.operations, levels: rule.levels ?? pack.levels } : undefined;
    }
    case 'structuring': {
      const rule = rules.structuring;
      const applies = rule.enabled && untrusted && linked >= rule.minMembers;
      const threshold = input.scope === 'lineage' ? thresholds.frontier.operations : thresholds.tenant.operations;
      return applies ? { threshold, levels: rule.levels ?? pack.levels } : undefined;
    }
    case 'unverified-at-scale': {
      const rule = rules['unverified-at-scale'];
      return rule.enabled && !input.risk.trusted ? { threshold: rule.operations, levels: [{ fraction: 1, severity: rule.severity }] } : undefined;
    }
    case 'parent-in-tier3': {
      const rule = rules['parent-in-tier3'];
      return rule.enabled && input.risk.tier === 3 ? { threshold: rule.minOperations, levels: [{ fraction: 1, severity: rule.severity }] } : undefined;
    }
  }
}
