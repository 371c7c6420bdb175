import { densePeakFlops, peakPrecision } from '@flopwatch/catalog';
import { catalogOf } from './catalog-of.js';
import type { Precision, UsageEvent } from '@flopwatch/contracts';
import { PolicyError } from './errors.js';
import type { PolicyPack } from './pack-schema.js';

/** Where an estimate's count came from. */
export type EstimateBasis = 'measured' | 'tensorActive' | 'policyDefault';

/** Operations of one event, with the figures that produced them. */
export interface OperationsEstimate {
  operations: number;
  /** The count at 100 % utilization of the dense peak: no job can exceed it. */
  upperBound: number;
  basis: EstimateBasis;
  /** The format whose peak was used (may differ from the event's when the chip lacks that format). */
  precision: Precision;
  peakFlopsPerSecond: number;
  seconds: number;
  gpuSeconds: number;
  /** Utilization applied; for a measured count, measured ÷ upper bound (above 1 flags bad telemetry). */
  utilization: number;
}

/**
 * count × dense peak × seconds × utilization, utilization from DCGM tensor-active else the pack's
 * default. A measured count is taken as reported and not capped at the upper bound: an undercount
 * is the costlier error for export control, and the ratio in `utilization` exposes implausible ones.
 */
export function estimateOperations(event: UsageEvent, pack: PolicyPack): OperationsEstimate {
  const { data } = event;
  const accelerator = catalogOf(pack).find(data.accelerator.model);
  if (!accelerator) throw new PolicyError('unknown_accelerator', `accelerator model "${data.accelerator.model}" is not in the catalog`);
  const precision = peakPrecision(accelerator, data.precision);
  const peakFlopsPerSecond = densePeakFlops(accelerator, data.precision);
  // An inverted interval counts nothing; validateUsage sends such events to the DLQ before this.
  const seconds = Math.max(0, (Date.parse(data.interval.end) - Date.parse(data.interval.start)) / 1000);
  const gpuSeconds = data.accelerator.count * seconds;
  const upperBound = gpuSeconds * peakFlopsPerSecond;
  const base = { upperBound, precision, peakFlopsPerSecond, seconds, gpuSeconds };

  if (data.operations !== undefined && data.operations !== null) {
    return { ...base, operations: data.operations, basis: 'measured', utilization: upperBound > 0 ? data.operations / upperBound : 0 };
  }
  const tensorActive = data.utilization?.tensorActive;
  if (tensorActive !== undefined) {
    return { ...base, operations: upperBound * tensorActive, basis: 'tensorActive', utilization: tensorActive };
  }
  return { ...base, operations: upperBound * pack.utilization.default, basis: 'policyDefault', utilization: pack.utilization.default };
}
