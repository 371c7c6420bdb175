// The evasion benchmark's parts (`pnpm bench:detection`, scripts/bench-detection.ts): the
// catalogue of evasion strategies, the honest population, the stepped run through the real ingest,
// the bookkeeping (caught or not, by which rule, when) and the markdown table. docs/detection.md.
import { createHash } from 'node:crypto';
import { SEVERITIES, type Alert, type Severity, type Tenant, type UsageEvent } from '@flopwatch/contracts';
import type { KafkaProducer } from '@flopwatch/kafka';
import { estimateOperations, hardwareRisk, type PolicyPack } from '@flopwatch/policy';
import type { Store } from '@flopwatch/store';
import { readAlerts } from '../alerts-view.js';
import { plannedJobEvents, type PlannedJob } from '../scenario/plan.js';
import { seededRandom } from '../scenario/random.js';
import { registerAll, type Registrar } from '../registrar.js';
import { produceEvents } from '../sink.js';
import type { TracePod } from '../trace/pods.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** The threshold every strategy trains past (4E091, the default pack's `thresholds.frontier`). */
export const CROSSING_OPS = 1e26;
/** Each strategy's run trains this much, just past the threshold. */
const RUN_OPS = 1.05e26;
const H100 = 'nvidia-h100-sxm5-80gb';
/** GPUs per account of a split: under the LPP allowance of 1,699 H100-equivalents held at once. */
const SPLIT_GPUS = 1600;
const UTIL = 0.42;
const H100_BF16_FLOPS = 989.4e12;
const OPS_PER_GPU_HOUR = H100_BF16_FLOPS * UTIL * 3600;

type Cluster = PlannedJob['cluster'];
export const CLUSTERS = {
  usEast: { id: 'us-east-h100', region: 'us-east-1', country: 'US' },
  usWest: { id: 'us-west-h100', region: 'us-west-2', country: 'US' },
  euWest: { id: 'eu-west-h100', region: 'eu-west-1', country: 'IE' },
  usLegacy: { id: 'us-east-legacy', region: 'us-east-1', country: 'US' },
  sg: { id: 'sg-h100', region: 'ap-southeast-1', country: 'SG' },
  in: { id: 'in-legacy', region: 'ap-south-1', country: 'IN' },
} satisfies Record<string, Cluster>;

/** One labelled evasion scenario: who, what they run, and (when not caught) why. */
export interface Strategy {
  id: string;
  title: string;
  /** KYC records written through the registry (an account never registered stays unknown). */
  tenants: Tenant[];
  /** Every account the strategy uses. */
  accounts: string[];
  jobs: PlannedJob[];
  /** Rewrites the jobs' reports (checkpoint hand-offs, decoy reports); decoys are not counted as the run. */
  transform?: (events: UsageEvent[]) => { events: UsageEvent[]; decoys: Set<string> };
  /** What it shows, for the docs when it is not caught. */
  note: string;
}

export interface HonestTenant {
  tenant: Tenant;
  kind: 'tier1-lab' | 'small-unverified' | 'tier2-uncontrolled' | 'frontier-lab';
  jobs: PlannedJob[];
}

const tenant = (t: Partial<Tenant> & { id: string; legalName: string; hqCountry: string }): Tenant => ({
  ultimateParent: null,
  beneficialOwners: [],
  identifiers: { paymentFingerprints: [`pf_${sha(t.id).slice(0, 12)}`], contactDomains: [`${t.id}.example`] },
  kycStatus: 'verified',
  validatedEndUser: false,
  entityListMatch: false,
  notes: '',
  updatedAt: new Date(0).toISOString(),
  ...t,
});
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const pad = (k: number) => String(k).padStart(2, '0');

function job(p: { tenantId: string; jobId: string; cluster: Cluster; gpus: number; startMs: number; endMs: number; accelerator?: string; lineage?: PlannedJob['lineage']; util?: number; label: string }): PlannedJob {
  const legacy = p.accelerator !== undefined && p.accelerator !== H100;
  return {
    jobId: p.jobId,
    tenantId: p.tenantId,
    cluster: p.cluster,
    accelerator: p.accelerator ?? H100,
    gpus: p.gpus,
    precision: legacy ? 'fp16' : 'bf16',
    utilization: { profile: 'constant', value: p.util ?? UTIL },
    reportUtilization: true,
    startMs: p.startMs,
    endMs: p.endMs,
    lineage: p.lineage ?? null,
    labels: { bench: p.label },
  };
}

/** GPUs that train `ops` on H100s (bf16, 42 % tensor-active) in `hours`. */
const gpusFor = (ops: number, hours: number) => Math.ceil(ops / (OPS_PER_GPU_HOUR * hours));

/**
 * A run split across `n` accounts, each holding `SPLIT_GPUS` H100s for the same hours (co-scheduled),
 * spread over the US and EU clusters. No lineage unless `lineage` says so.
 */
function splitRun(id: string, accounts: string[], startMs: number, endMs: number, lineage: 'none' | 'own' = 'none'): PlannedJob[] {
  const clusters = [CLUSTERS.usEast, CLUSTERS.usWest, CLUSTERS.euWest];
  return accounts.map((a, i) => job({
    tenantId: a, jobId: `${id}-pt-${a}`, cluster: clusters[i % clusters.length]!, gpus: SPLIT_GPUS, startMs, endMs, label: id,
    ...(lineage === 'own' ? { lineage: { id: `${a}-model`, parentId: null, checkpoints: true } } : {}),
  }));
}

/** Accounts a split of `RUN_OPS` over `hours` needs at `SPLIT_GPUS` each. */
const splitAccounts = (hours: number) => Math.ceil(RUN_OPS / (OPS_PER_GPU_HOUR * SPLIT_GPUS * hours));

export const STRATEGY_IDS = ['direct', 'mixed-hardware', 'split-shared-identifier', 'split-name-variants', 'split-checkpoint-handoff', 'split-co-scheduled', 'monthly-accounts', 'slow-burn', 'region-hop', 'pre-cover'] as const;
export type StrategyId = (typeof STRATEGY_IDS)[number];

/** The default pack with reports of `hours` allowed: the bench sends few, large reports. */
export function benchPack(pack: PolicyPack, hours: number): PolicyPack {
  return { ...pack, limits: { ...pack.limits, maxIntervalSeconds: Math.round(hours * 3600) } };
}

/**
 * The catalogue, laid out on a timeline of `days` ending at `endMs`. Runs that need a long time (the
 * slow burn, the monthly accounts) take most of it; the others train in 60-90 days.
 */
export function buildStrategies(ids: readonly StrategyId[], endMs: number, days: number): Strategy[] {
  const t0 = endMs - days * DAY_MS;
  const at = (d: number) => t0 + Math.round(d * 24) * HOUR_MS;
  const span = (d: number) => Math.min(d, days - 1);
  const out: Strategy[] = [];
  for (const id of ids) {
    switch (id) {
      case 'direct': {
        const d = span(60);
        const a = 'ev-direct';
        out.push({
          id, title: 'one untrusted tenant, directly', accounts: [a],
          tenants: [tenant({ id: a, legalName: 'Falcon Dune Compute FZ-LLC', hqCountry: 'AE', beneficialOwners: [{ name: 'Khalid Mansour', country: 'AE' }] })],
          jobs: [job({ tenantId: a, jobId: 'direct-pt', cluster: CLUSTERS.usEast, gpus: gpusFor(RUN_OPS, d * 24), startMs: at(1), endMs: at(1 + d), label: id, lineage: { id: 'falcon-1', parentId: null, checkpoints: true } })],
          note: '',
        });
        break;
      }
      case 'mixed-hardware': {
        // Most of its GPUs are uncontrolled (T4, A10, V100) or outside Tier 1; the H100s in the US carry the run.
        const d = span(80);
        const a = 'ev-mixed';
        const s = at(2), e = at(2 + d);
        out.push({
          id, title: 'the same on an uncontrolled-looking mix of hardware', accounts: [a],
          tenants: [tenant({ id: a, legalName: 'Sable Mesa Analytics Ltd', hqCountry: 'AE' })],
          jobs: [
            job({ tenantId: a, jobId: 'mixed-h100', cluster: CLUSTERS.usWest, gpus: gpusFor(RUN_OPS, d * 24), startMs: s, endMs: e, label: id }),
            job({ tenantId: a, jobId: 'mixed-t4', cluster: CLUSTERS.usLegacy, accelerator: 'nvidia-tesla-t4', gpus: 30_000, startMs: s, endMs: e, label: id }),
            job({ tenantId: a, jobId: 'mixed-v100', cluster: CLUSTERS.usLegacy, accelerator: 'nvidia-tesla-v100-sxm2-32gb', gpus: 40_000, startMs: s, endMs: e, label: id }),
            job({ tenantId: a, jobId: 'mixed-sg', cluster: CLUSTERS.sg, gpus: 20_000, startMs: s, endMs: e, label: id }),
          ],
          note: '',
        });
        break;
      }
      case 'split-shared-identifier': {
        const d = span(90);
        const n = splitAccounts(d * 24);
        const accounts = Array.from({ length: n }, (_, i) => `ev-card-${pad(i + 1)}`);
        out.push({
          id, title: 'split across accounts that share a declared identifier (a payment card)', accounts,
          tenants: accounts.map((a, i) => tenant({ id: a, legalName: `Harbor Lattice ${pad(i + 1)} LLC`, hqCountry: 'AE', identifiers: { paymentFingerprints: ['pf_shared_7d21c0'], contactDomains: [`harbor-lattice-${i + 1}.example`] } })),
          jobs: splitRun(id, accounts, at(3), at(3 + d)),
          note: '',
        });
        break;
      }
      case 'split-name-variants': {
        const d = span(90);
        const n = splitAccounts(d * 24);
        const accounts = Array.from({ length: n }, (_, i) => `ev-names-${pad(i + 1)}`);
        const owners = ['Zhang Wei', 'Wei Zhang', 'ZHANG, Wei', '张伟', 'Zhang-Wei'];
        const parents = ['Lionrock Compute Pte. Ltd.', 'Lionrock Compute Pte Ltd', 'LIONROCK COMPUTE PTE. LTD', 'Lionrock Compute'];
        out.push({
          id, title: "split across accounts sharing only variants of the owner's or parent's name", accounts,
          tenants: accounts.map((a, i) => tenant({
            id: a, legalName: `Straits Tensor ${pad(i + 1)} Pte Ltd`, hqCountry: 'SG',
            // Odd accounts declare the owner, even ones the parent, every third both: each a different spelling.
            beneficialOwners: i % 2 === 0 || i % 3 === 0 ? [{ name: owners[i % owners.length]!, country: 'SG' }] : [],
            ultimateParent: i % 2 === 1 || i % 3 === 0 ? { name: parents[i % parents.length]!, country: 'SG' } : null,
          })),
          jobs: splitRun(id, accounts, at(4), at(4 + d)),
          note: '',
        });
        break;
      }
      case 'split-checkpoint-handoff':
      case 'split-co-scheduled': {
        const handoff = id === 'split-checkpoint-handoff';
        const d = span(90);
        const n = splitAccounts(d * 24);
        const tag = handoff ? 'ckpt' : 'cosched';
        const accounts = Array.from({ length: n }, (_, i) => `ev-${tag}-${pad(i + 1)}`);
        const hq = ['AE', 'SG', 'MY', 'IN', 'BR', 'MX'];
        const planned = splitRun(id, accounts, at(5), at(5 + d), handoff ? 'own' : 'none');
        // Co-scheduled on one cluster: the same hours, the same GPU counts. A run of weeks is not one
        // scheduler job: it restarts from its checkpoint within the cluster's walltime limit, here every
        // day, so the accounts' jobs start and end together again and again.
        const jobs = handoff ? planned : planned.flatMap((j) => Array.from({ length: Math.ceil((j.endMs - j.startMs) / DAY_MS) }, (_, k) => ({
          ...j, jobId: `${j.jobId}-r${k + 1}`, startMs: j.startMs + k * DAY_MS, endMs: Math.min(j.endMs, j.startMs + (k + 1) * DAY_MS),
        })));
        for (const j of jobs) j.cluster = CLUSTERS.usEast;
        out.push({
          id,
          title: handoff ? 'split across accounts that share nothing, handing checkpoints on' : 'split across accounts that share nothing but run together (co-scheduled)',
          accounts,
          tenants: accounts.map((a, i) => tenant({ id: a, legalName: `${['Kestrel', 'Orchid', 'Monsoon', 'Basalt', 'Cobalt', 'Juniper'][i % 6]} ${tag} Systems ${pad(i + 1)}`, hqCountry: hq[i % hq.length]! })),
          jobs,
          // Each account's lineage resumes, in its first report, from the previous account's first checkpoint.
          ...(handoff ? {
            transform: (events: UsageEvent[]) => {
              const firstOut = new Map<string, string>();
              const firstOf = new Map<string, UsageEvent>();
              for (const e of events) {
                const l = e.data.lineage;
                if (l && !firstOf.has(l.id)) {
                  firstOf.set(l.id, e);
                  if (l.checkpointOut) firstOut.set(e.data.tenantId, l.checkpointOut);
                }
              }
              accounts.forEach((a, i) => {
                if (i === 0) return;
                const first = firstOf.get(`${a}-model`);
                const prev = firstOut.get(accounts[i - 1]!);
                if (first?.data.lineage && prev) first.data.lineage = { ...first.data.lineage, checkpointIn: prev };
              });
              return { events, decoys: new Set() };
            },
          } : {}),
          note: handoff ? '' : 'nothing declared links the accounts and no report links their lineages; only their timing does (behavioural links, issue 31 item 2)',
        });
        break;
      }
      case 'monthly-accounts': {
        // A new set of accounts every 30 days, all declaring the same beneficial owner.
        const d = span(120);
        const months = Math.max(1, Math.round(d / 30));
        const perMonth = splitAccounts(d * 24);
        const accounts: string[] = [];
        const jobs: PlannedJob[] = [];
        for (let m = 0; m < months; m++) {
          const ids = Array.from({ length: perMonth }, (_, i) => `ev-month${m + 1}-${pad(i + 1)}`);
          accounts.push(...ids);
          jobs.push(...splitRun(`${id}-m${m + 1}`, ids, at(6 + (m * d) / months), at(6 + ((m + 1) * d) / months)));
        }
        out.push({
          id, title: 'a new account every month under the same owner', accounts,
          tenants: accounts.map((a, i) => tenant({ id: a, legalName: `Quartz Relay ${i + 1} Ltd`, hqCountry: 'AE', beneficialOwners: [{ name: 'Omar Haddad', country: 'AE' }] })),
          jobs,
          note: '',
        });
        break;
      }
      case 'slow-burn': {
        // The group's daily burn × 30 days stays under the distance left until the last stretch.
        const d = span(days - 8);
        const n = splitAccounts(d * 24);
        const accounts = Array.from({ length: n }, (_, i) => `ev-slow-${pad(i + 1)}`);
        out.push({
          id, title: 'a slow burn kept under the velocity bands', accounts,
          tenants: accounts.map((a, i) => tenant({ id: a, legalName: `Glacier Mill ${pad(i + 1)} LLC`, hqCountry: 'AE', identifiers: { paymentFingerprints: [`pf_slow_${i}`], contactDomains: ['glacier-mill.example'] } })),
          jobs: splitRun(id, accounts, at(7), at(7 + d)),
          note: '',
        });
        break;
      }
      case 'region-hop': {
        // 30 days in the US, 25 in Singapore (Tier 2), then back to the US until past the threshold.
        const d = span(85);
        const us = d - 25;
        const a = 'ev-hop';
        const g = gpusFor(RUN_OPS, us * 24);
        const lineage = { id: 'hop-model', parentId: null, checkpoints: true };
        out.push({
          id, title: 'part of the run moved to a Tier 2 region and back', accounts: [a],
          tenants: [tenant({ id: a, legalName: 'Meridian Hop Compute Pte Ltd', hqCountry: 'SG' })],
          jobs: [
            job({ tenantId: a, jobId: 'hop-1', cluster: CLUSTERS.usEast, gpus: g, startMs: at(8), endMs: at(8 + us / 2), lineage, label: id }),
            job({ tenantId: a, jobId: 'hop-2', cluster: CLUSTERS.sg, gpus: g, startMs: at(8 + us / 2), endMs: at(8 + us / 2 + 25), lineage, label: id }),
            job({ tenantId: a, jobId: 'hop-3', cluster: CLUSTERS.usEast, gpus: g, startMs: at(8 + us / 2 + 25), endMs: at(8 + d), lineage, label: id }),
          ],
          note: '',
        });
        break;
      }
      case 'pre-cover': {
        // The client sends, before each real report of a slice, a cheap one: few GPUs at 1 % tensor-active.
        const d = span(60);
        const a = 'ev-precover';
        out.push({
          id, title: 'a client that pre-covers the time with a cheap report', accounts: [a],
          tenants: [tenant({ id: a, legalName: 'Nightjar Cloud Services FZE', hqCountry: 'AE' })],
          jobs: [job({ tenantId: a, jobId: 'precover-pt', cluster: CLUSTERS.euWest, gpus: gpusFor(RUN_OPS, d * 24), startMs: at(9), endMs: at(9 + d), label: id })],
          transform: (events) => {
            const decoys = new Set<string>();
            const out2: UsageEvent[] = [];
            for (const e of events) {
              const decoy: UsageEvent = { ...e, id: `${e.id}/early`, source: 'sim://client-agent', data: { ...e.data, accelerator: { ...e.data.accelerator, count: 64 }, utilization: { tensorActive: 0.01 } } };
              decoys.add(decoy.id);
              out2.push(decoy, e);
            }
            return { events: out2, decoys };
          },
          note: 'the books keep the first report of a slice: the real report is a recorded conflict, and its disputed excess is what `disputed-usage` reads',
        });
        break;
      }
    }
  }
  return out;
}

const FIRST = ['Anna', 'James', 'Maria', 'Kenji', 'Sofia', 'Liam', 'Yuki', 'Lucas', 'Emma', 'Noah', 'Priya', 'Carlos', 'Olga', 'Ahmed', 'Chen', 'Fatima', 'Jonas', 'Ines', 'Tomas', 'Aiko'];
const LAST = ['Smith', 'Müller', 'Tanaka', 'Rossi', 'Dubois', 'Nguyen', 'Kim', 'Silva', 'Jensen', 'Novak', 'Garcia', 'Okafor', 'Berg', 'Sato', 'Kowalski', 'Haddad', 'Larsen', 'Moreau', 'Ito', 'Costa'];

/**
 * The honest population: verified Tier 1 labs of many sizes (one of them training past 10^26), small
 * unverified users, Tier 2 customers on uncontrolled hardware. Job shapes (GPUs per pod, duration,
 * start) are drawn from the Alibaba trace's pods, scaled by the tenant's size.
 */
export function buildHonest(pods: readonly TracePod[], count: number, endMs: number, days: number, seed = 31): HonestTenant[] {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const usable = pods.filter((p) => p.num_gpu > 0 && p.creation_time !== null && p.deletion_time !== null && p.deletion_time > p.creation_time);
  if (usable.length === 0) throw new Error('the trace has no pod with GPUs and a lifetime');
  const traceSpan = Math.max(...usable.map((p) => p.deletion_time!)) - Math.min(...usable.map((p) => p.creation_time!));
  const t0 = endMs - days * DAY_MS;
  const shape = () => {
    const p = pick(usable);
    // Hours, whole; a pod longer than two weeks is a long job cut at two weeks.
    const hours = Math.min(14 * 24, Math.max(1, Math.round((p.deletion_time! - p.creation_time!) / 3600)));
    const startH = Math.floor(((p.creation_time! / traceSpan) * days * 24 + random() * days * 24) % Math.max(1, days * 24 - hours));
    return { gpus: p.num_gpu * (p.gpu_milli / 1000), startMs: t0 + startH * HOUR_MS, endMs: t0 + (startH + hours) * HOUR_MS };
  };
  const owner = (country: string) => ({ name: `${pick(FIRST)} ${pick(LAST)}`, country });
  const out: HonestTenant[] = [];
  const tier1 = ['US', 'GB', 'DE', 'FR', 'JP', 'KR', 'CA', 'NL'];
  const tier2 = ['IN', 'BR', 'MX', 'SG', 'AE', 'ID', 'TR', 'ZA'];
  for (let i = 0; i < count; i++) {
    const r = i / count;
    const id = `hon-${String(i + 1).padStart(4, '0')}`;
    if (i === 0) {
      // A verified frontier lab that trains past 10^26 in the open: nothing to flag.
      const hours = Math.floor(days * 0.8) * 24;
      out.push({
        kind: 'frontier-lab',
        tenant: tenant({ id, legalName: 'Helios Frontier Labs Inc', hqCountry: 'US', beneficialOwners: [owner('US')] }),
        jobs: [job({ tenantId: id, jobId: `${id}-pt`, cluster: CLUSTERS.usEast, gpus: gpusFor(1.2e26, hours), startMs: t0 + 24 * HOUR_MS, endMs: t0 + 24 * HOUR_MS + hours * HOUR_MS, label: 'honest', lineage: { id: `${id}-frontier`, parentId: null, checkpoints: true } })],
      });
    } else if (r < 0.3) {
      // Verified Tier 1 labs: a size from 1 to 4,096 GPUs per trace pod's GPU.
      const country = pick(tier1);
      const scale = 2 ** Math.floor(random() * 13);
      const jobs = Array.from({ length: 2 + Math.floor(random() * 3) }, (_, k) => {
        const s = shape();
        return job({ tenantId: id, jobId: `${id}-j${k}`, cluster: pick([CLUSTERS.usEast, CLUSTERS.usWest, CLUSTERS.euWest]), gpus: Math.max(1, Math.round(s.gpus * scale)), startMs: s.startMs, endMs: s.endMs, label: 'honest', util: 0.2 + random() * 0.4 });
      });
      out.push({ kind: 'tier1-lab', tenant: tenant({ id, legalName: `${pick(LAST)} ${pick(['AI', 'Research', 'Labs', 'Robotics'])} ${i}`, hqCountry: country, beneficialOwners: [owner(country)] }), jobs });
    } else if (r < 0.75) {
      // Small unverified users: a pod's GPUs as they are, on whatever is free; a webmail domain.
      const status = pick(['pending', 'unverified'] as const);
      const jobs = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, k) => {
        const s = shape();
        const legacy = random() < 0.5;
        return job({ tenantId: id, jobId: `${id}-j${k}`, cluster: legacy ? CLUSTERS.usLegacy : pick([CLUSTERS.usEast, CLUSTERS.euWest]), accelerator: legacy ? pick(['nvidia-tesla-t4', 'nvidia-a10']) : H100, gpus: Math.max(0.1, Math.min(8, s.gpus)), startMs: s.startMs, endMs: s.endMs, label: 'honest', util: 0.1 + random() * 0.5 });
      });
      const country = pick([...tier1, ...tier2]);
      out.push({ kind: 'small-unverified', tenant: tenant({ id, legalName: `${pick(FIRST)} ${pick(LAST)}`, hqCountry: country, kycStatus: status, identifiers: { paymentFingerprints: [`pf_${sha(id).slice(0, 12)}`], contactDomains: ['gmail.com'] } }), jobs });
    } else {
      // Tier 2 customers on uncontrolled hardware (V100, T4, A10) in the US, or anything in their region.
      const country = pick(tier2);
      const scale = 2 ** Math.floor(random() * 8);
      const jobs = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, k) => {
        const s = shape();
        const home = random() < 0.3;
        return job({ tenantId: id, jobId: `${id}-j${k}`, cluster: home ? pick([CLUSTERS.sg, CLUSTERS.in]) : CLUSTERS.usLegacy, accelerator: home ? pick([H100, 'nvidia-tesla-v100-sxm2-32gb']) : pick(['nvidia-tesla-v100-sxm2-32gb', 'nvidia-tesla-t4', 'nvidia-a10']), gpus: Math.max(1, Math.round(s.gpus * scale)), startMs: s.startMs, endMs: s.endMs, label: 'honest', util: 0.2 + random() * 0.4 });
      });
      out.push({ kind: 'tier2-uncontrolled', tenant: tenant({ id, legalName: `${pick(LAST)} ${pick(['Data', 'Cloud', 'Vision', 'Analytics'])} ${i}`, hqCountry: country, beneficialOwners: [owner(country)] }), jobs });
    }
  }
  return out;
}

const eventsOf = (jobs: readonly PlannedJob[], seed: number, intervalSeconds: number) => jobs.flatMap((j, i) => [...plannedJobEvents(j, intervalSeconds, seed + i)]);

/** A strategy's reports, in order, and its own controlled Tier 1 operations (the bench's truth). */
export interface PlayedStrategy {
  strategy: Strategy;
  events: UsageEvent[];
  /** Cumulative controlled Tier 1 operations of the run (decoys excluded) at each report's end, in order. */
  curve: { atMs: number; ops: number }[];
  /** When the run passes 10^26 (event time), or null. */
  crossingMs: number | null;
  /** The first report's end per account. */
  firstSeenMs: Map<string, number>;
}

export function playStrategy(s: Strategy, pack: PolicyPack, seed: number): PlayedStrategy {
  let events = eventsOf(s.jobs, seed, pack.limits.maxIntervalSeconds).sort((a, b) => Date.parse(a.data.interval.end) - Date.parse(b.data.interval.end));
  let decoys = new Set<string>();
  if (s.transform) ({ events, decoys } = s.transform(events));
  let ops = 0;
  let crossingMs: number | null = null;
  const curve: PlayedStrategy['curve'] = [];
  const firstSeenMs = new Map<string, number>();
  for (const e of events) {
    if (decoys.has(e.id)) continue;
    const end = Date.parse(e.data.interval.end);
    if (!firstSeenMs.has(e.data.tenantId)) firstSeenMs.set(e.data.tenantId, end);
    const hw = hardwareRisk(e.data.cluster, e.data.accelerator.model, pack);
    if (hw.controlled && hw.tier === 1) ops += estimateOperations(e, pack).operations;
    curve.push({ atMs: end, ops });
    if (crossingMs === null && ops >= CROSSING_OPS) crossingMs = end;
  }
  return { strategy: s, events, curve, crossingMs, firstSeenMs };
}

/** The run's cumulative controlled Tier 1 operations at an instant (event time). */
export function opsAt(p: PlayedStrategy, atMs: number): number {
  let lo = 0, hi = p.curve.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (p.curve[mid]!.atMs <= atMs) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : p.curve[lo - 1]!.ops;
}

/** An alert with the event time of the step after which it was first read. */
export interface SeenAlert {
  alert: Alert;
  eventMs: number;
}

/** The tenants an alert's subject covers: its tenant, or a group's or lineage's contributors. */
export function coveredTenants(a: Alert): Set<string> {
  const out = new Set(a.evidence.contributingTenants.map((t) => t.tenantId));
  if (a.scope === 'tenant') out.add(a.subject);
  if (a.kyc) out.add(a.kyc.tenantId);
  return out;
}

const rank = (s: Severity) => SEVERITIES.indexOf(s);
/** The pack's first actionable severity: the severity of its first level above `info`. */
export function firstActionableSeverity(pack: PolicyPack): Severity {
  return pack.levels.find((l) => l.severity !== 'info')?.severity ?? 'low';
}

export interface StrategyResult {
  id: string;
  title: string;
  accounts: number;
  events: number;
  crossingMs: number | null;
  caught: boolean;
  /** The first actionable alert covering every account that had run by then. */
  first: { rule: string; scope: string; subject: string; severity: Severity; eventMs: number; fraction: number; daysBeforeCrossing: number | null; afterCrossing: boolean } | null;
  /** Every rule with such an alert before the crossing, with the run's fraction of 10^26 at its first. */
  rules: { rule: string; fraction: number }[];
  /** Actionable alerts on some accounts only (each a case an analyst sees alone). */
  partialAlerts: number;
  note: string;
}

export function judgeStrategy(p: PlayedStrategy, seen: readonly SeenAlert[], actionable: Severity): StrategyResult {
  const accounts = new Set(p.strategy.accounts);
  const mine = seen.filter((s) => rank(s.alert.severity) >= rank(actionable) && [...coveredTenants(s.alert)].some((t) => accounts.has(t)));
  const covering = mine.filter((s) => {
    const covered = coveredTenants(s.alert);
    return [...p.firstSeenMs].every(([t, first]) => first > s.eventMs || covered.has(t));
  });
  const before = covering.filter((s) => p.crossingMs === null || s.eventMs < p.crossingMs);
  const firstSeen = covering[0];
  const first = firstSeen ? {
    rule: firstSeen.alert.rule, scope: firstSeen.alert.scope, subject: firstSeen.alert.subject, severity: firstSeen.alert.severity, eventMs: firstSeen.eventMs,
    fraction: opsAt(p, firstSeen.eventMs) / CROSSING_OPS,
    daysBeforeCrossing: p.crossingMs === null ? null : (p.crossingMs - firstSeen.eventMs) / DAY_MS,
    afterCrossing: p.crossingMs !== null && firstSeen.eventMs >= p.crossingMs,
  } : null;
  return {
    id: p.strategy.id, title: p.strategy.title, accounts: p.strategy.accounts.length, events: p.events.length, crossingMs: p.crossingMs,
    caught: before.length > 0, first,
    rules: [...new Set(before.map((s) => s.alert.rule))].map((rule) => ({ rule, fraction: opsAt(p, before.find((s) => s.alert.rule === rule)!.eventMs) / CROSSING_OPS })),
    partialAlerts: mine.length - covering.length, note: p.strategy.note,
  };
}

export interface HonestResult {
  tenants: number;
  byKind: Record<string, number>;
  days: number;
  /** Cases (one per rule + scope + subject) concerning honest tenants, by rule: all, and actionable. */
  cases: Record<string, { all: number; actionable: number }>;
  /** Cases of the verified Tier 1 labs (frontier lab included). */
  tier1LabCases: number;
}

export function judgeHonest(honest: readonly HonestTenant[], seen: readonly SeenAlert[], actionable: Severity, days: number, strategyAccounts: ReadonlySet<string>): HonestResult {
  const ids = new Set(honest.map((h) => h.tenant.id));
  const labs = new Set(honest.filter((h) => h.kind === 'tier1-lab' || h.kind === 'frontier-lab').map((h) => h.tenant.id));
  const cases = new Map<string, { rule: string; actionable: boolean; lab: boolean }>();
  for (const { alert: a } of seen) {
    const covered = coveredTenants(a);
    if (![...covered].some((t) => ids.has(t)) || [...covered].some((t) => strategyAccounts.has(t))) continue;
    const key = `${a.rule}|${a.scope}|${a.subject}`;
    const prev = cases.get(key);
    cases.set(key, { rule: a.rule, actionable: (prev?.actionable ?? false) || rank(a.severity) >= rank(actionable), lab: (prev?.lab ?? false) || [...covered].some((t) => labs.has(t)) });
  }
  const byRule: HonestResult['cases'] = {};
  for (const c of cases.values()) {
    const r = (byRule[c.rule] ??= { all: 0, actionable: 0 });
    r.all++;
    if (c.actionable) r.actionable++;
  }
  const byKind: Record<string, number> = {};
  for (const h of honest) byKind[h.kind] = (byKind[h.kind] ?? 0) + 1;
  return { tenants: honest.length, byKind, days, cases: byRule, tier1LabCases: [...cases.values()].filter((c) => c.lab).length };
}

export interface BenchInput {
  store: Store;
  registrar: Registrar;
  producer: KafkaProducer;
  topic: string;
  /** Resolves once the ingest has consumed everything sent so far. */
  drained: () => Promise<void>;
  /** The pack the ingest runs; every report is `limits.maxIntervalSeconds` long (few, large reports). */
  pack: PolicyPack;
  strategies: Strategy[];
  honest: HonestTenant[];
  /** Event-time length of one step: alerts read after a step are dated at its end. */
  stepMs: number;
  onProgress?: (line: string) => void;
}

export interface BenchOutput {
  strategies: StrategyResult[];
  honest: HonestResult;
  events: number;
  seconds: number;
  stepDays: number;
  spanDays: number;
  actionable: Severity;
}

/**
 * Registers every KYC record, then plays all reports in event-time order one step at a time: after
 * each step it waits until the ingest has consumed it and reads the alerts raised, dated at the step's end.
 */
export async function runDetectionBench(input: BenchInput): Promise<BenchOutput> {
  const started = Date.now();
  const say = input.onProgress ?? (() => undefined);
  const played = input.strategies.map((s, i) => playStrategy(s, input.pack, 1000 * (i + 1)));
  const honestEvents = input.honest.flatMap((h, i) => eventsOf(h.jobs, 50_000 + i, input.pack.limits.maxIntervalSeconds));
  await registerAll(input.registrar, { tenants: [...input.strategies.flatMap((s) => s.tenants), ...input.honest.map((h) => h.tenant)], lineages: [] });
  const all = [...played.flatMap((p) => p.events), ...honestEvents];
  // Stable: a decoy stays ahead of the report it covers.
  all.sort((a, b) => Date.parse(a.data.interval.end) - Date.parse(b.data.interval.end));
  const startMs = Date.parse(all[0]!.data.interval.start);
  const endMs = Date.parse(all[all.length - 1]!.data.interval.end);
  say(`registered ${input.strategies.reduce((n, s) => n + s.tenants.length, 0)} strategy accounts and ${input.honest.length} honest tenants; ${all.length.toLocaleString('en-US')} reports over ${Math.round((endMs - startMs) / DAY_MS)} days (${honestEvents.length.toLocaleString('en-US')} honest)`);
  const seen: SeenAlert[] = [];
  const seenIds = new Set<string>();
  let i = 0;
  let lastLine = 0;
  for (let stepEnd = startMs + input.stepMs; i < all.length; stepEnd += input.stepMs) {
    const from = i;
    while (i < all.length && Date.parse(all[i]!.data.interval.end) <= stepEnd) i++;
    const readFrom = Date.now() - 5_000;
    if (i > from) {
      await produceEvents(all.slice(from, i), { producer: input.producer, topic: input.topic, batchSize: 1000 });
      await input.drained();
    }
    for (const a of await readAlerts(input.store, seen.length === 0 ? 0 : readFrom)) {
      if (seenIds.has(a.id)) continue;
      seenIds.add(a.id);
      seen.push({ alert: a, eventMs: Math.min(stepEnd, endMs) });
    }
    if (Date.now() - lastLine > 10_000 || i === all.length) {
      lastLine = Date.now();
      say(`simulated ${new Date(Math.min(stepEnd, endMs)).toISOString().slice(0, 10)}: ${i.toLocaleString('en-US')} / ${all.length.toLocaleString('en-US')} reports, ${seen.length} alerts, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  const actionable = firstActionableSeverity(input.pack);
  const strategyAccounts = new Set(input.strategies.flatMap((s) => s.accounts));
  return {
    strategies: played.map((p) => judgeStrategy(p, seen, actionable)),
    honest: judgeHonest(input.honest, seen, actionable, (endMs - startMs) / DAY_MS, strategyAccounts),
    events: all.length,
    seconds: (Date.now() - started) / 1000,
    stepDays: input.stepMs / DAY_MS,
    spanDays: (endMs - startMs) / DAY_MS,
    actionable,
  };
}

const pct = (x: number) => (x < 0.001 ? '< 0.1 %' : `${(x * 100).toFixed(1)} %`);

/** The results as markdown: the strategies' table and the honest population's case rates. */
export function formatDetectionTables(out: BenchOutput): string {
  const lines = [
    `| strategy | accounts | caught | first rule (scope) | at % of 10^26 | days before the crossing | rules before the crossing (at % of 10^26) | per-account alerts |`,
    `|---|---|---|---|---|---|---|---|`,
  ];
  for (const r of out.strategies) {
    const f = r.first;
    lines.push(`| ${r.title} (\`${r.id}\`) | ${r.accounts} | ${r.caught ? '**caught**' : f?.afterCrossing ? 'late' : '**not caught**'} | ${f ? `\`${f.rule}\` (${f.scope}, ${f.severity})` : '—'} | ${f ? pct(f.fraction) : '—'} | ${f?.daysBeforeCrossing !== null && f?.daysBeforeCrossing !== undefined ? f.daysBeforeCrossing.toFixed(0) : '—'} | ${r.rules.map((x) => `\`${x.rule}\` ${pct(x.fraction)}`).join(', ') || '—'} | ${r.partialAlerts} |`);
  }
  const h = out.honest;
  const rules = Object.keys(h.cases).sort();
  const per1000 = (n: number) => ((n * 1000) / h.tenants).toFixed(1);
  const perDay = (n: number) => (n / h.days).toFixed(2);
  const total = rules.reduce((n, r) => n + h.cases[r]!.all, 0);
  const totalAct = rules.reduce((n, r) => n + h.cases[r]!.actionable, 0);
  lines.push('', `Honest population: ${h.tenants} tenants (${Object.entries(h.byKind).map(([k, n]) => `${n} ${k}`).join(', ')}) over ${h.days.toFixed(0)} days; cases opened (actionable = ${out.actionable} or above):`, '');
  lines.push('| rule | cases | per 1,000 tenants | per day | actionable | actionable per 1,000 tenants |', '|---|---|---|---|---|---|');
  for (const r of rules) lines.push(`| \`${r}\` | ${h.cases[r]!.all} | ${per1000(h.cases[r]!.all)} | ${perDay(h.cases[r]!.all)} | ${h.cases[r]!.actionable} | ${per1000(h.cases[r]!.actionable)} |`);
  lines.push(`| all rules | ${total} | ${per1000(total)} | ${perDay(total)} | ${totalAct} | ${per1000(totalAct)} |`);
  lines.push('', `Cases on verified Tier 1 labs: ${h.tier1LabCases}.`);
  return lines.join('\n');
}
