// The shapes the console reads (the API's OpenAPI at /docs is the reference).
export interface KycSnapshot { tenantId: string; hqCountry: string | null; ownerCountries: string[]; tier: number; kycStatus: string; trusted: boolean; reasons: string[] }
export interface CaseEvent { at: string; action: string; actor: string; from: string | null; to: string; note?: string; level?: number; severity?: string; assignee?: string | null; alertId?: string }
export type LevelBasis =
  | { kind: 'fraction'; fraction: number }
  | { kind: 'band'; band: number; withinDays: number; daysToCross: number }
  | { kind: 'limit'; quantity: 'operations' | 'h100e'; observed: number; limit: number };
export interface CaseRow {
  id: string; rule: string; scope: string; subject: string; status: string; severity: string; level: number; levelBasis?: LevelBasis; threshold: number;
  observedOperations: number; projectedCrossingAt: string | null; tenants: string[]; kyc: KycSnapshot | null; assignee: string | null; tags: string[];
  openedAt: string; updatedAt: string; dueAt: string; overdue: boolean; alertCount: number; commentCount: number;
  alerts: { id: string; level: number; severity: string; raisedAt: string; observedOperations: number }[];
}
export interface Case extends Omit<CaseRow, 'alertCount' | 'commentCount'> {
  hardware: { countries: string[]; tiers: number[]; models: string[] };
  evidence: { topJobs: { tenantId: string; jobId: string; operations: number }[]; contributingTenants: { tenantId: string; operations: number }[] };
  comments: { id: string; at: string; actor: string; text: string }[];
  history: CaseEvent[];
  policyVersion: string;
  severitySince: string;
}
export interface Counts { active: number; byStatus: Record<string, number>; activeBySeverity: Record<string, number>; overdue: number; unassigned: number }
export interface AuditEntry { id: string; seq: number; at: string; actor: string; action: string; object: string; note?: string; hash: string; before: unknown; after: unknown }
export interface LinkGraph { nodes: { tenantId: string; legalName: string | null; hqCountry: string | null; kycStatus: string }[]; edges: { a: string; b: string; identifiers: string[]; reasons: LinkReason[] }[]; widelyShared: { identifier: string; tenants: number }[] }
export interface LinkReason { identifier: string; kind: string; a: string; b: string; score: number; why: string }
export interface AncestryStep { lineageId: string; tenants: string[]; link: { parentId: string; kind: string; checkpoint: string | null; tenantId: string; parentTenantId: string | null } | null }
export interface CaseDetail {
  case: Case;
  alerts: { id: string; level: number; severity: string; raisedAt: string; observedOperations: number; status: string }[];
  audit: AuditEntry[];
  tenants: { tenantId: string; record: { legalName: string; hqCountry: string | null; ultimateParent: { name: string; country: string } | null; kycStatus: string } | null; risk: { tier: number; trusted: boolean; reasons: string[] } }[];
  graph: LinkGraph | null;
  ancestry: AncestryStep[] | null;
  behaviour?: BehaviourLink[];
}
export interface BehaviourLink {
  id: string; tenants: [string, string]; status: 'suspected' | 'confirmed' | 'dismissed';
  evidence: {
    reasons: string[]; matched: number; expected: number; pValue: number; adjustedPValue: number; pairsTested: number;
    matches: { cluster: string; shape: string; a: { jobId: string; startMin: number; endMin: number }; b: { jobId: string; startMin: number; endMin: number } }[];
    handoffs: { checkpoint: string; lineageId: string; tenantId: string; parentLineageId: string; parentTenantId: string }[];
  };
  decision: { status: string; by: string; at: string; note?: string } | null;
}
export interface Series {
  basis: string; tenants: string[]; points: { day: string; operations: number }[];
  levels: { fraction: number; severity: string; operations: number }[];
  alerts: { raisedAt: string; level: number; observedOperations: number }[];
  observedOperations: number; projectedCrossingAt: string | null;
}
export interface Risk { tier: number; trusted: boolean; kycStatus: string; hqCountry: string | null; ownerCountries: string[]; reasons: string[] }
export interface TenantUsage {
  tenantId: string; registered: boolean; groupId: string | null; risk: Risk; asOf: string; lastActivityAt: string | null;
  totals: { operations: number; upperBoundOperations: number; controlledTier1Operations: number; gpuHours: number };
  windows: Record<string, number>;
  breakdown: { byCountry: Record<string, number>; byTier: Record<string, number>; byModel: Record<string, number>; byLineage: Record<string, number> };
  burnRate: { operationsPerDay: number };
  projections: { threshold: string; level: number; severity: string; operations: number; reached: boolean; projectedAt: string | null }[];
}
export interface GroupUsage { groupId: string; members: { tenantId: string; operations: number; risk: Risk }[]; totals: { operations: number } }

/** Trusted as the rules read it: verified KYC and every party in Tier 1 (DOMAIN.md). */
export const isTrusted = (r: { trusted: boolean; tier: number }) => r.trusted && r.tier === 1;
