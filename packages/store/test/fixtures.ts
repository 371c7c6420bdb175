import type { UsageRecord } from '../src/index.js';

const H = 3_600_000;
export const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

/** A usage record for an H100 job on Tier 1 hardware; override what a test cares about. */
export function record(over: Partial<UsageRecord> & Pick<UsageRecord, 'offset'>): UsageRecord {
  return {
    tenantId: 'tenant-a',
    jobKey: 'cluster-a/1',
    node: null,
    startMs: T0,
    endMs: T0 + H,
    // 512 H100s × 989.4 TFLOP/s × 0.4 → tera-ops per ms
    teraOpsPerMs: (512 * 989.4 * 0.4) / 1000,
    upperTeraOpsPerMs: (512 * 989.4) / 1000,
    milliGpus: 512_000,
    lineageId: 'tenant-a/model-x',
    country: 'US',
    tier: 1,
    acceleratorId: 'nvidia-h100-sxm5-80gb',
    controlledTier1: true,
    h100e: 512,
    ...over,
  };
}

export const HOUR = H;
