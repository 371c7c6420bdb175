import { densePeakFlops, isCountryCode } from '@flopwatch/catalog';
import type { UsageEvent } from '@flopwatch/contracts';
import { catalogOf, checkInterval, countryTier, estimateOperations, estimatedOps, hardwareRisk, unknownAccelerator, unknownCountry, upperBoundOps, type PolicyPack, type UsageRefusal } from '@flopwatch/policy';
import { teraOpsPerMs, type LineageFact, type UsageRecord } from '@flopwatch/store';
import { timestampMs } from './usage-check.js';

/** What the pack says about one accelerator model run at one precision: resolved once, not per event. */
interface Hardware {
  acceleratorId: string;
  peakFlopsPerSecond: number;
  controlled: boolean;
  h100Equivalents: number;
}

/** Entries kept before a cache starts over: model spellings and countries are input, so bounded. */
const CACHE_MAX = 4096;

/**
 * Turns schema-valid events into what the accounting script counts, applying the policy checks
 * (`validateUsage`: same verdicts, same DLQ reasons and messages) on the way. Accelerator models,
 * precisions and countries are resolved once per pack and cached; timestamps are parsed without
 * Date objects. The figures are those of `estimateOperations` and `hardwareRisk` to the bit.
 */
export function createRecordMaker(pack: PolicyPack) {
  const catalog = catalogOf(pack);
  // model → precision → what it resolves to; no key string built per event.
  const hardware = new Map<string, Map<string, Hardware | null>>();
  let resolved = 0;
  const countries = new Map<string, { valid: boolean; tier: 1 | 2 | 3 }>();

  function resolve(model: string, precision: UsageEvent['data']['precision']): Hardware | null {
    let byPrecision = hardware.get(model);
    if (!byPrecision) {
      if (resolved >= CACHE_MAX) {
        hardware.clear();
        resolved = 0;
      }
      byPrecision = new Map();
      hardware.set(model, byPrecision);
    }
    let hit = byPrecision.get(precision);
    if (hit === undefined) {
      const accelerator = catalog.find(model);
      hit = accelerator
        ? { acceleratorId: accelerator.id, peakFlopsPerSecond: densePeakFlops(accelerator, precision), controlled: accelerator.class3A090 !== 'none', h100Equivalents: accelerator.h100Equivalents }
        : null;
      byPrecision.set(precision, hit);
      resolved++;
    }
    return hit;
  }

  function country(code: string) {
    let hit = countries.get(code);
    if (!hit) {
      hit = { valid: isCountryCode(code), tier: countryTier(code, pack) };
      if (countries.size >= CACHE_MAX) countries.clear();
      countries.set(code, hit);
    }
    return hit;
  }

  /** The record of a schema-valid event, or why the policy refuses it. */
  return function toRecord(event: UsageEvent, offset: string, nowMs: number): UsageRecord | UsageRefusal {
    const { data } = event;
    const hw = resolve(data.accelerator.model, data.precision);
    if (!hw) return unknownAccelerator(data.accelerator.model);
    const place = country(data.cluster.country);
    if (!place.valid) return unknownCountry(data.cluster.country);
    const startMs = timestampMs(data.interval.start);
    const endMs = timestampMs(data.interval.end);
    const refusal = checkInterval(event, startMs, endMs, pack, nowMs);
    if (refusal) return refusal;
    const count = data.accelerator.count;
    const upperBound = upperBoundOps(count, startMs, endMs, hw.peakFlopsPerSecond);
    const durationMs = endMs - startMs;
    return {
      offset,
      tenantId: data.tenantId,
      jobKey: `${data.cluster.id}/${data.jobId}`,
      node: data.node ?? null,
      startMs,
      endMs,
      teraOpsPerMs: teraOpsPerMs(estimatedOps(event, upperBound, pack), durationMs),
      upperTeraOpsPerMs: teraOpsPerMs(upperBound, durationMs),
      milliGpus: Math.round(count * 1000),
      lineageId: data.lineage?.id ?? null,
      country: data.cluster.country,
      tier: place.tier,
      acceleratorId: hw.acceleratorId,
      controlledTier1: hw.controlled && place.tier === 1,
      controlled: hw.controlled,
      h100e: count * hw.h100Equivalents,
      measured: isMeasured(event),
    };
  };
}

export type RecordMaker = ReturnType<typeof createRecordMaker>;

/**
 * A validated event → what the accounting script counts (rates per millisecond, hardware context):
 * the plain reference the record maker's figures are tested against.
 */
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
    measured: isMeasured(event),
  };
}

/**
 * A measured report carries the hardware's own activity (`utilization.tensorActive`) or operations
 * (DCGM); an allocated one only says GPUs × time and is estimated at the pack's default utilization
 * (the Slurm poller, jobcomp). Measured time supersedes allocated time of the same slice.
 */
export function isMeasured(event: UsageEvent): boolean {
  const { data } = event;
  return (data.operations !== undefined && data.operations !== null) || data.utilization?.tensorActive !== undefined;
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
