import { isCountryCode, type Accelerator } from '@flopwatch/catalog';
import { catalogOf } from './catalog-of.js';
import type { DlqReason, UsageEvent } from '@flopwatch/contracts';
import type { PolicyPack } from './pack-schema.js';

/** Outcome of the policy checks on a schema-valid event; a failure names the DLQ reason. */
export type UsageValidation = { ok: true; accelerator: Accelerator } | { ok: false; reason: DlqReason; message: string };

/** A refusal of the policy checks: the DLQ reason and its message. */
export type UsageRefusal = { ok: false; reason: DlqReason; message: string };

/** Checks what the schema cannot: known accelerator and country, a positive interval within the pack's limits. */
export function validateUsage(event: UsageEvent, pack: PolicyPack, now: Date): UsageValidation {
  const { data } = event;
  const accelerator = catalogOf(pack).find(data.accelerator.model);
  if (!accelerator) return unknownAccelerator(data.accelerator.model);
  if (!isCountryCode(data.cluster.country)) return unknownCountry(data.cluster.country);
  const refusal = checkInterval(event, Date.parse(data.interval.start), Date.parse(data.interval.end), pack, now.getTime());
  return refusal ?? { ok: true, accelerator };
}

/** The refusal of an event whose accelerator model neither the catalog nor the pack knows. */
export function unknownAccelerator(model: string): UsageRefusal {
  return fail('unknown_accelerator', `accelerator model "${model}" is not in the catalog nor in the policy pack's accelerators (add it, then replay: pnpm dlq:replay --reason unknown_accelerator)`);
}

/** The refusal of an event whose cluster country is not an assigned ISO 3166-1 alpha-2 code. */
export function unknownCountry(country: string): UsageRefusal {
  return fail('unknown_country', `cluster country "${country}" is not an ISO 3166-1 alpha-2 code`);
}

/**
 * The interval checks of `validateUsage`, for a caller that parsed the interval already (the ingest's
 * hot path): null when the interval is positive, within the pack's longest and not in the future.
 */
export function checkInterval(event: UsageEvent, startMs: number, endMs: number, pack: PolicyPack, nowMs: number): UsageRefusal | null {
  const { interval } = event.data;
  if (!(endMs > startMs)) return fail('invalid_interval', `interval end ${interval.end} is not after its start ${interval.start}`);
  const seconds = (endMs - startMs) / 1000;
  if (seconds > pack.limits.maxIntervalSeconds) {
    return fail('interval_too_long', `interval of ${seconds} s is longer than the policy's ${pack.limits.maxIntervalSeconds} s`);
  }
  const latest = nowMs + pack.limits.maxClockSkewSeconds * 1000;
  if (endMs > latest) {
    return fail('interval_in_future', `interval end ${interval.end} is more than ${pack.limits.maxClockSkewSeconds} s after now (${new Date(nowMs).toISOString()})`);
  }
  return null;
}

function fail(reason: DlqReason, message: string): UsageRefusal {
  return { ok: false, reason, message };
}
