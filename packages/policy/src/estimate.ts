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
  const startMs = Date.parse(data.interval.start);
  const endMs = Date.parse(data.interval.end);
  // An inverted interval counts nothing; validateUsage sends such events to the DLQ before this.
  const seconds = Math.max(0, (endMs - startMs) / 1000);
  const gpuSeconds = data.accelerator.count * seconds;
  const upperBound = upperBoundOps(data.accelerator.count, startMs, endMs, peakFlopsPerSecond);
  const base = { upperBound, precision, peakFlopsPerSecond, seconds, gpuSeconds };

  const operations = estimatedOps(event, upperBound, pack);
  if (data.operations !== undefined && data.operations !== null) {
    return { ...base, operations, basis: 'measured', utilization: upperBound > 0 ? data.operations / upperBound : 0 };
  }
  const tensorActive = data.utilization?.tensorActive;
  if (tensorActive !== undefined) return { ...base, operations, basis: 'tensorActive', utilization: tensorActive };
  return { ...base, operations, basis: 'policyDefault', utilization: pack.utilization.default };
}

/**
 * The estimate's arithmetic, for a caller that resolved the peak and parsed the interval already (the
 * ingest's hot path): operations at 100 % of the dense peak over the interval. The same IEEE
 * operations in the same order as `estimateOperations`, so both give the same figure to the bit.
 */
export function upperBoundOps(count: number, startMs: number, endMs: number, peakFlopsPerSecond: number): number {
  const seconds = Math.max(0, (endMs - startMs) / 1000);
  return count * seconds * peakFlopsPerSecond;
}

/** The estimated operations of an event given its upper bound: measured, else tensor-active, else the pack's default utilization. */
export function estimatedOps(event: UsageEvent, upperBound: number, pack: PolicyPack): number {
  const { data } = event;
  if (data.operations !== undefined && data.operations !== null) return data.operations;
  const tensorActive = data.utilization?.tensorActive;
  return upperBound * (tensorActive !== undefined ? tensorActive : pack.utilization.default);
}
