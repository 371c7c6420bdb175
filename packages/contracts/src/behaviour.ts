// Behavioural links: what the co-scheduling analysis (policy: coschedule.ts) reads and finds.

/** One job as the ingest records it (store: job-shapes.ts). */
export interface JobShape {
  tenantId: string;
  jobId: string;
  /** Minutes since the epoch of the job's first and last reported instant. */
  startMin: number;
  endMin: number;
  /** `<accelerator>×<GPUs per report>`: jobs of one run share it. */
  shape: string;
}

/** A checkpoint written by one tenant's lineage and read by another tenant's. */
export interface Handoff {
  checkpoint: string;
  /** The lineage that read it, and its tenant. */
  lineageId: string;
  tenantId: string;
  /** The lineage that wrote it, and its tenant. */
  parentLineageId: string;
  parentTenantId: string;
}

/** A matched pair of jobs: one of each tenant, same cluster and shape, starts and ends within the window. */
export interface MatchedJobs {
  cluster: string;
  shape: string;
  a: { jobId: string; startMin: number; endMin: number };
  b: { jobId: string; startMin: number; endMin: number };
}

/** Why two tenants are suspected of running together. */
export interface PairEvidence {
  /** The two tenants, in id order. */
  tenants: [string, string];
  /** Matched job pairs (each job in at most one pair), at most `KEPT_MATCHES` kept. */
  matches: MatchedJobs[];
  /** How many job pairs matched, over every cluster. */
  matched: number;
  /** Matches expected by chance from the clusters' traffic (Poisson mean). */
  expected: number;
  /** P(at least `matched` by chance), and the same × the tenant pairs tested (Bonferroni, at most 1). */
  pValue: number;
  adjustedPValue: number;
  /** Tenant pairs that shared a cluster: the tests the adjustment accounts for. */
  pairsTested: number;
  handoffs: Handoff[];
  /** What made it a suspicion. */
  reasons: ('co-scheduled' | 'checkpoint-handoff')[];
}

