import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MEASURES, type Tenant } from '@flopwatch/contracts';
import { evaluateSubject, tenantMayAlert, tenantRisk, type PrefilterTotals } from '../src/index.js';
import { DAY, HOUR, books, kyc, packWith, type Use } from './snapshots.js';

const BASE = Date.UTC(2026, 0, 1);

/**
 * The totals the apply script returns for these uses, computed here the way the script keeps them:
 * all-time sums, the trailing 365 days and 24 hours measured back from the tenant's latest day and
 * hour (all hardware), H100e held.
 */
function returnedTotals(uses: Use[], h100eActive: number): PrefilterTotals {
  const latest = Math.max(...uses.map((u) => u.endMs));
  const lastDay = Math.floor(latest / DAY);
  const lastHour = Math.floor(latest / HOUR);
  const sum = (f: (u: Use) => boolean) => uses.filter(f).reduce((a, u) => a + u.operations, 0);
  return {
    operations: sum(() => true),
    controlledTier1Operations: sum((u) => (u.controlled ?? true) && (u.tier ?? 1) === 1),
    trailing365dOperations: sum((u) => Math.floor(u.endMs / DAY) > lastDay - 365),
    trailing24hOperations: sum((u) => Math.floor(u.endMs / HOUR) > lastHour - 24),
    h100eActive,
  };
}

const use = fc.record({
  operations: fc.double({ min: 1e18, max: 3e26, noNaN: true }),
  endMs: fc.integer({ min: 0, max: 800 }).map((h) => BASE + h * HOUR * 12),
  country: fc.constantFrom('US', 'SG', 'CN'),
  tier: fc.constantFrom(1 as const, 2 as const, 3 as const),
  controlled: fc.boolean(),
});

const record = fc.record({
  hqCountry: fc.constantFrom('US', 'SG', 'CN'),
  kycStatus: fc.constantFrom('verified' as const, 'pending' as const, 'unverified' as const),
  entityListMatch: fc.boolean(),
});

const measure = fc.constantFrom(...MEASURES);

describe('prefilter', () => {
  it('never holds back an alert that full evaluation of the tenant would raise', () => {
    fc.assert(
      fc.property(
        fc.array(use, { minLength: 1, maxLength: 8 }),
        fc.option(record, { nil: null }),
        fc.integer({ min: 0, max: 4000 }),
        fc.integer({ min: 0, max: 400 * 24 }),
        fc.record({ approach: measure, velocity: measure, unverified: measure, tier3: measure }),
        fc.record({ windowDays: fc.constantFrom(30, 365, 730), burnWindowDays: fc.constantFrom(1, 7) }),
        // Rules switched on and off, so one rule's prefilter cannot hide another's gap.
        fc.record({ approach: fc.boolean(), velocity: fc.boolean(), unverified: fc.boolean(), tier3: fc.boolean(), cluster: fc.boolean() }),
        (uses, over, h100e, laterHours, m, w, on) => {
          const p = packWith({
            'tenant-approach': { measure: m.approach, enabled: on.approach },
            velocity: { measure: m.velocity, burnWindowDays: w.burnWindowDays, enabled: on.velocity },
            'unverified-at-scale': { measure: m.unverified, enabled: on.unverified },
            'parent-in-tier3': { measure: m.tier3, enabled: on.tier3 },
            'large-untrusted-cluster': { enabled: on.cluster },
          });
          p.thresholds.tenant.windowDays = w.windowDays;
          const record: Tenant | null = over ? kyc('t', over) : null;
          const b = books('t', uses, h100e);
          // Evaluated at the tenant's latest usage or any time after it (the books' event clock moved on).
          const asOfMs = b.latestEndMs! + laterHours * HOUR;
          const raised = evaluateSubject({ scope: 'tenant', subject: 't', asOfMs, tenant: { id: 't', record, groupId: null, books: b } }, p);
          if (raised.length > 0) expect(tenantMayAlert(returnedTotals(uses, h100e), tenantRisk(record ?? undefined, p), p)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('lets through a tenant that raises an alert (the property is not vacuous)', () => {
    const uses: Use[] = [{ operations: 5e25, endMs: BASE }];
    const b = books('t', uses);
    const raised = evaluateSubject({ scope: 'tenant', subject: 't', asOfMs: BASE, tenant: { id: 't', record: kyc('t'), groupId: null, books: b } }, packWith());
    expect(raised.length).toBeGreaterThan(0);
    expect(tenantMayAlert(returnedTotals(uses, 0), tenantRisk(kyc('t'), packWith()), packWith())).toBe(true);
    // And holds back one that cannot: a verified US lab.
    expect(tenantMayAlert(returnedTotals(uses, 0), tenantRisk(kyc('t', { hqCountry: 'US' }), packWith()), packWith())).toBe(false);
  });
});
