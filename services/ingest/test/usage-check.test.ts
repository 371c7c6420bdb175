// The hot path's plain-code check of usage events against zod, the source of truth: same verdict on
// arbitrary valid and invalid events, and through decodeMessage the same DLQ reason and message.
// Its timestamp parser against Date.parse.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { USAGE_EVENT_TYPE, describeZodError, usageEventSchema, type UsageEvent } from '@flopwatch/contracts';
import { DEFAULT_POLICY_PATH, loadPolicyPack, validateUsage } from '@flopwatch/policy';
import { VALID_SAMPLES, mutated } from '../../../packages/contracts/test/arbitraries.js';
import { createDecoder } from '../src/decode.js';
import { createRecordMaker, toUsageRecord } from '../src/records.js';
import { isUsageEvent, timestampMs } from '../src/usage-check.js';

const valid = VALID_SAMPLES['usage-event'];
const pack = loadPolicyPack(DEFAULT_POLICY_PATH);
const decode = createDecoder({ pack, slurm: null, maxMessageBytes: 1 << 20 });
const NOW = Date.parse('2100-01-01T00:00:00Z');
const NOW_MS = Date.parse('2026-11-20T12:00:00Z');

// Invalid events: one field replaced, removed or added anywhere in a valid one, and edge values
// aimed at the fields the contract bounds.
const edges = fc.tuple(valid, fc.constantFrom(
  ['data', 'accelerator', 'count'], ['data', 'utilization', 'tensorActive'], ['data', 'operations'], ['data', 'node'],
  ['data', 'labels'], ['data', 'lineage', 'parentId'], ['data', 'cluster', 'region'], ['subject'], ['time'], ['data', 'interval', 'end'],
), fc.constantFrom<unknown>(
  0.0015, 0.001, 0.0009, 1_000_000, 1_000_000.001, 1.0000000000000002, 1 + 1e-10, -0, 1e30, 1.0000001e30, null, '', 'x'.repeat(129), 'x'.repeat(65),
  '\u{1F600}'.repeat(64), '\u{1F600}'.repeat(65), { __proto__: 'x' }, { ok: 'x'.repeat(257) }, { 'a b': 'x' }, { ['a'.repeat(64)]: 'x' }, [],
  '2024-02-29T10:00:00Z', '2023-02-29T10:00:00Z', '2026-11-20T10:00:00.123456+02:00', '2026-11-20T10:00:00+24:00', '2026-11-20T10:00Z', 'a/b', '-a',
)).map(([sample, path, value]) => {
  const copy = JSON.parse(JSON.stringify(sample)) as Record<string, unknown>;
  let target = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
    target = target[key] as Record<string, unknown>;
  }
  // JSON.parse keeps "__proto__" as an own key, as a Kafka message would.
  target[path.at(-1)!] = JSON.parse(JSON.stringify(value)) as unknown;
  return JSON.parse(JSON.stringify(copy)) as unknown;
});
const invalid = fc.oneof(mutated(valid), mutated(mutated(valid)), edges);

describe('isUsageEvent: the same verdict as usageEventSchema', () => {
  it('accepts every valid event', () => {
    fc.assert(fc.property(valid, (e) => {
      expect(usageEventSchema.safeParse(e).success).toBe(true);
      expect(isUsageEvent(e)).toBe(true);
    }), { numRuns: 2000 });
  });

  it('agrees with zod on changed events, valid or not', () => {
    let refused = 0;
    fc.assert(fc.property(invalid, (e) => {
      const zod = usageEventSchema.safeParse(e).success;
      if (!zod) refused++;
      expect(isUsageEvent(e)).toBe(zod);
    }), { numRuns: 5000 });
    // The generator must mostly produce refusals, or the property proves little.
    expect(refused).toBeGreaterThan(2500);
  });

  it('dead-letters with the reason and message zod gives', () => {
    fc.assert(fc.property(invalid, (e) => {
      const refusal = decode('telemetry', Buffer.from(JSON.stringify(e)), '0', NOW, { records: [], facts: [] });
      if (typeof e === 'object' && e !== null && 'type' in e && e.type !== USAGE_EVENT_TYPE) return; // unsupported_type, before the schema
      const parsed = usageEventSchema.safeParse(e);
      if (parsed.success) {
        if (refusal) expect(refusal.reason).not.toBe('schema_violation');
      } else {
        expect(refusal).toEqual({ reason: 'schema_violation', message: describeZodError(parsed.error) });
      }
    }), { numRuns: 3000 });
  });
});

describe('timestampMs', () => {
  const zone = fc.oneof(
    fc.constant('Z'),
    fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([s, h, m]) => `${s}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
  );
  const fraction = fc.oneof(fc.constant(''), fc.stringMatching(/^[0-9]{1,12}$/).map((d) => `.${d}`));
  const stamp = fc.tuple(fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), fraction, zone)
    .map(([d, frac, z]) => `${d.toISOString().slice(0, 19)}${frac}${z}`)
    .filter((s) => /^\d{4}-/.test(s));

  it('gives Date.parse’s figure for any timestamp the contract accepts', () => {
    fc.assert(fc.property(stamp, (s) => {
      expect(isUsageEvent({ specversion: '1.0', type: USAGE_EVENT_TYPE, source: 's', id: 'i', time: s, data: { tenantId: 't', jobId: 'j', cluster: { id: 'c', country: 'US' }, accelerator: { model: 'm', count: 1 }, interval: { start: s, end: s }, precision: 'bf16' } })).toBe(true);
      expect(timestampMs(s)).toBe(Date.parse(s));
    }), { numRuns: 5000 });
  });

  it('handles leap days, offsets across midnight and long fractions', () => {
    for (const s of ['2024-02-29T23:59:59.9999+02:00', '2000-02-29T00:00:00Z', '1900-03-01T00:30:00-01:00', '0000-01-01T00:00:00+23:59', '9999-12-31T23:59:59.999-23:59', '1969-12-31T23:59:59.5Z', '1970-01-01T00:00:00.0001000000Z', '2026-11-20T10:00:00.123456789012+05:30']) {
      expect(timestampMs(s)).toBe(Date.parse(s));
    }
  });
});

describe('createRecordMaker: the policy checks and figures of validateUsage + estimateOperations', () => {
  const toRecord = createRecordMaker(pack);
  const style = (ms: number, how: string) => {
    const iso = new Date(ms).toISOString();
    return how === 'iso' ? iso : how === 'seconds' ? iso.replace(/\.\d{3}Z$/, 'Z') : new Date(ms + 7_200_000).toISOString().replace(/Z$/, '+02:00');
  };
  const interval = fc.tuple(
    fc.integer({ min: -3 * 86_400_000, max: 600_000 }),
    fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 3_600_000 }) }, { weight: 1, arbitrary: fc.integer({ min: -60_000, max: 0 }) }, { weight: 1, arbitrary: fc.integer({ min: 3_600_001, max: 3 * 86_400_000 }) }),
    fc.constantFrom('iso', 'seconds', 'offset'), fc.constantFrom('iso', 'seconds', 'offset'),
  ).map(([startDelta, duration, a, b]) => [style(NOW_MS + startDelta, a), style(NOW_MS + startDelta + duration, b)] as const);
  const event = fc.tuple(valid, fc.constantFrom('H100 SXM', 'nvidia-a100-sxm4-80gb', 'MI300X', 'T4', 'V100M32', 'L40S', 'nvidia-h100-sxm5-80gb', 'no-such-gpu'),
    fc.constantFrom('US', 'DE', 'CN', 'SG', 'XX', 'US', 'DE', 'CN', 'SG'), interval)
    .map(([e, model, country, [start, end]]) => {
      const copy = structuredClone(e) as { data: { accelerator: { model: string }; cluster: { country: string }; interval: { start: string; end: string } } };
      copy.data.accelerator.model = model;
      copy.data.cluster.country = country;
      copy.data.interval = { start, end };
      return copy as unknown as UsageEvent;
    });

  it('refuses with the same reason and message, or makes the same record to the bit', () => {
    const reasons = new Map<string, number>();
    fc.assert(fc.property(event, (e) => {
      const verdict = validateUsage(e, pack, new Date(NOW_MS));
      const made = toRecord(e, '7', NOW_MS);
      reasons.set(verdict.ok ? 'ok' : verdict.reason, (reasons.get(verdict.ok ? 'ok' : verdict.reason) ?? 0) + 1);
      if (verdict.ok) expect(made).toEqual(toUsageRecord(e, '7', pack));
      else expect(made).toEqual(verdict);
    }), { numRuns: 3000 });
    // Every path was taken, counted records most of all.
    expect([...reasons.keys()].sort()).toEqual(['interval_in_future', 'interval_too_long', 'invalid_interval', 'ok', 'unknown_accelerator', 'unknown_country']);
    expect(reasons.get('ok')).toBeGreaterThan(300);
  });
});
