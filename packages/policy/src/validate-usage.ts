import { isCountryCode, type Accelerator } from '@flopwatch/catalog';
import { catalogOf } from './catalog-of.js';
import type { DlqReason, UsageEvent } from '@flopwatch/contracts';
import type { PolicyPack } from './pack-schema.js';

/** Outcome of the policy checks on a schema-valid event; a failure names the DLQ reason. */
export type UsageValidation = { ok: true; accelerator: Accelerator } | { ok: false; reason: DlqReason; message: string };

/** Checks what the schema cannot: known accelerator and country, a positive interval within the pack's limits. */
export function validateUsage(event: UsageEvent, pack: PolicyPack, now: Date): UsageValidation {
  const { data } = event;
  const accelerator = catalogOf(pack).find(data.accelerator.model);
  if (!accelerator) return fail('unknown_accelerator', `accelerator model "${data.accelerator.model}" is not in the catalog nor in the policy pack's accelerators (add it, then replay: pnpm dlq:replay --reason unknown_accelerator)`);
  if (!isCountryCode(data.cluster.country)) return fail('unknown_country', `cluster country "${data.cluster.country}" is not an ISO 3166-1 alpha-2 code`);
  const start = Date.parse(data.interval.start);
  const end = Date.parse(data.interval.end);
  if (!(end > start)) return fail('invalid_interval', `interval end ${data.interval.end} is not after its start ${data.interval.start}`);
  const seconds = (end - start) / 1000;
  if (seconds > pack.limits.maxIntervalSeconds) {
    return fail('interval_too_long', `interval of ${seconds} s is longer than the policy's ${pack.limits.maxIntervalSeconds} s`);
  }
  const latest = now.getTime() + pack.limits.maxClockSkewSeconds * 1000;
  if (end > latest) {
    return fail('interval_in_future', `interval end ${data.interval.end} is more than ${pack.limits.maxClockSkewSeconds} s after now (${now.toISOString()})`);
  }
  return { ok: true, accelerator };
}

function fail(reason: DlqReason, message: string): UsageValidation {
  return { ok: false, reason, message };
}
