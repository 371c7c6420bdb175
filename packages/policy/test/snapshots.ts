import type { HardwareSplit, LineageEdge, Measure, Tenant, TenantBooks, TenantSnapshot } from '@flopwatch/contracts';
import type { PolicyPack } from '../src/index.js';
import { pack as defaultPack } from './fixtures.js';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

/** One stretch of usage, counted in the hour and day its interval ends in (as the books do). */
export interface Use {
  operations: number;
  endMs: number;
  country?: string;
  tier?: 1 | 2 | 3;
  controlled?: boolean;
}

const measuresOf = (u: Use): Measure[] => {
  const tier = u.tier ?? 1;
  const controlled = u.controlled ?? true;
  return ['all', ...(controlled ? ['controlled' as const] : []), ...(controlled && tier === 1 ? ['controlledTier1' as const] : [])];
};

/** The split of some uses: operations by measure, tier and country. */
export function splitOf(uses: Use[]): HardwareSplit {
  const s: HardwareSplit = { all: 0, controlled: 0, controlledTier1: 0, byTier: {}, byCountry: {} };
  for (const u of uses) {
    for (const m of measuresOf(u)) s[m] += u.operations;
    const tier = String(u.tier ?? 1);
    const country = u.country ?? 'US';
    s.byTier[tier] = (s.byTier[tier] ?? 0) + u.operations;
    s.byCountry[country] = (s.byCountry[country] ?? 0) + u.operations;
  }
  return s;
}

/** Books made of these uses; hour buckets only for the trailing 24 h of the latest use, as the books keep them. */
export function books(tenantId: string, uses: Use[], h100eActive = 0): TenantBooks {
  const latest = uses.length ? Math.max(...uses.map((u) => u.endMs)) : null;
  const days: TenantBooks['days'] = { all: {}, controlled: {}, controlledTier1: {} };
  const hours: TenantBooks['hours'] = { all: {}, controlled: {}, controlledTier1: {} };
  for (const u of uses) {
    const d = Math.floor(u.endMs / DAY);
    const h = Math.floor(u.endMs / HOUR);
    for (const m of measuresOf(u)) {
      days[m][d] = (days[m][d] ?? 0) + u.operations;
      if (latest !== null && h > Math.floor(latest / HOUR) - 24) hours[m][h] = (hours[m][h] ?? 0) + u.operations;
    }
  }
  return { tenantId, split: splitOf(uses), byModel: { 'nvidia-h100-sxm5-80gb': splitOf(uses).all }, days, hours, latestEndMs: latest, h100eActive, heldJobs: [], topJobs: [] };
}

/** A KYC record; a verified Singapore company unless overridden. */
export function kyc(id: string, over: Partial<Tenant> = {}): Tenant {
  return {
    id, legalName: `${id} Ltd`, hqCountry: 'SG', ultimateParent: null, beneficialOwners: [],
    identifiers: { paymentFingerprints: [], contactDomains: [] }, kycStatus: 'verified', validatedEndUser: false, entityListMatch: false, notes: '',
    ...over,
  };
}

export function tenant(id: string, uses: Use[], over: Partial<Tenant> | null = {}, h100eActive = 0): TenantSnapshot {
  return { id, record: over === null ? null : kyc(id, over), groupId: null, books: books(id, uses, h100eActive) };
}

export const edge = (child: string, parent: string, kind: LineageEdge['kind'] = 'declared', checkpoint?: string, tenantId?: string): LineageEdge =>
  ({ child, parent, kind, ...(checkpoint ? { checkpoint } : {}), ...(tenantId ? { tenantId } : {}) });

/** The default pack with rule settings changed (deep enough for `rules.<name>.<field>`). */
export function packWith(rules: { [K in keyof PolicyPack['rules']]?: Partial<PolicyPack['rules'][K]> } = {}): PolicyPack {
  const p = structuredClone(defaultPack);
  for (const [name, over] of Object.entries(rules)) Object.assign(p.rules[name as keyof PolicyPack['rules']], over);
  return p;
}
