import type { Tenant, UsageEvent } from '@flopwatch/contracts';
import { DEFAULT_POLICY_PATH, loadPolicyPack } from '../src/index.js';

/** The checked-in default pack. */
export const pack = loadPolicyPack(DEFAULT_POLICY_PATH);

/** One H100 SXM for one hour in bf16 in the US, with overrides of `data`. */
export function usageEvent(data: Partial<UsageEvent['data']> = {}): UsageEvent {
  return {
    specversion: '1.0',
    type: 'io.flopwatch.gpu.usage.v1',
    source: 'test://policy',
    id: 'c/1/2026-11-20T10:00:00Z',
    data: {
      tenantId: 'tenant-42',
      jobId: '1',
      cluster: { id: 'c', country: 'US' },
      accelerator: { model: 'nvidia-h100-sxm5-80gb', count: 1 },
      interval: { start: '2026-11-20T10:00:00Z', end: '2026-11-20T11:00:00Z' },
      precision: 'bf16',
      ...data,
    },
  };
}

/** A verified US tenant with no owners, with overrides. */
export function tenant(overrides: Partial<Tenant> = {}): Tenant {
  return {
    id: 'tenant-42',
    legalName: 'Acme AI Inc.',
    hqCountry: 'US',
    ultimateParent: null,
    beneficialOwners: [],
    identifiers: { paymentFingerprints: [], contactDomains: [] },
    kycStatus: 'verified',
    validatedEndUser: false,
    entityListMatch: false,
    notes: '',
    ...overrides,
  };
}
