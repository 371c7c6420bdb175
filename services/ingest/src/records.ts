import type { UsageEvent } from '@flopwatch/contracts';
import { estimateOperations, hardwareRisk, type PolicyPack } from '@flopwatch/policy';
import { teraOpsPerMs, type LineageFact, type UsageRecord } from '@flopwatch/store';

/** A validated event → what the accounting script counts (rates per millisecond, hardware context). */
export function toUsageRecord(event: UsageEvent, offset: string, pack: PolicyPack): UsageRecord {
  const { data } = event;
  const startMs = Date.parse(data.interval.start);
  const endMs = Date.parse(data.interval.end);
  const estimate = estimateOperations(event, pack);
  const hardware = hardwareRisk(data.cluster, data.accelerator.model, pack);
  const durationMs = endMs - startMs;
  return {
    offset,
    tenantId: data.tenantId,
    jobKey: `${data.cluster.id}/${data.jobId}`,
    node: data.node ?? null,
    startMs,
    endMs,
    teraOpsPerMs: teraOpsPerMs(estimate.operations, durationMs),
    upperTeraOpsPerMs: teraOpsPerMs(estimate.upperBound, durationMs),
    milliGpus: Math.round(data.accelerator.count * 1000),
    lineageId: data.lineage?.id ?? null,
    country: hardware.country,
    tier: hardware.tier,
    acceleratorId: hardware.acceleratorId,
    controlledTier1: hardware.controlled && hardware.tier === 1,
    controlled: hardware.controlled,
    h100e: data.accelerator.count * hardware.h100Equivalents,
  };
}

/** What an event says about its lineage (declared parent, checkpoints read and written), or null. */
export function toLineageFact(event: UsageEvent): LineageFact | null {
  const { lineage, tenantId } = event.data;
  if (!lineage) return null;
  return {
    tenantId,
    lineageId: lineage.id,
    parentId: lineage.parentId ?? null,
    checkpointIn: lineage.checkpointIn ?? null,
    checkpointOut: lineage.checkpointOut ?? null,
  };
}
