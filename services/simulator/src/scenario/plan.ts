import { createHash } from 'node:crypto';
import { USAGE_EVENT_TYPE, type Lineage, type Precision, type Tenant, type UsageEvent } from '@flopwatch/contracts';
import { seededRandom } from './random.js';
import { durationSchema, type Scenario, type ScenarioJob, type UtilizationProfile } from './schema.js';

/** One account's share of a job, as it will be reported. */
export interface PlannedJob {
  jobId: string;
  tenantId: string;
  cluster: { id: string; region: string; country: string };
  accelerator: string;
  gpus: number;
  precision: Precision;
  utilization: UtilizationProfile;
  reportUtilization: boolean;
  startMs: number;
  endMs: number;
  lineage: { id: string; parentId: string | null; checkpoints: boolean } | null;
  labels: Record<string, string>;
}

/** A scenario laid out on a timeline that ends at `now − endsAgo`. */
export interface ScenarioPlan {
  scenario: Scenario;
  /** Tenants to register (those with `register: false` stay unknown). */
  tenants: Tenant[];
  lineages: Lineage[];
  jobs: PlannedJob[];
  timeline: { startMs: number; endMs: number };
  eventCount: number;
}

const pad = (k: number) => String(k).padStart(2, '0');
const fill = (s: string, k: number) => s.replaceAll('{i}', pad(k));
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

/** Expands repetitions, draws ranges (seeded), splits jobs between accounts, and anchors the timeline. */
export function planScenario(scenario: Scenario, now: Date): ScenarioPlan {
  const random = seededRandom(scenario.seed);
  const draw = <T>(v: T | { min: T; max: T }, conv: (x: T) => number): number => {
    if (typeof v === 'object' && v !== null && 'min' in v) {
      const lo = conv(v.min);
      return lo + random() * (conv(v.max) - lo);
    }
    return conv(v as T);
  };
  const ms = (v: string) => durationSchema.parse(v);
  const step = scenario.intervalSeconds * 1000;
  // Whole intervals keep reports aligned and the arithmetic exact.
  const endMs = Math.floor((now.getTime() - scenario.endsAgo) / step) * step;
  const clusters = new Map(scenario.clusters.map((c) => [c.id, c]));

  const tenants: Tenant[] = [];
  for (const t of scenario.tenants) {
    for (let k = 1; k <= t.repeat; k++) {
      const { repeat: _repeat, register, ...record } = t;
      if (!register) continue;
      // `{i}` anywhere in the record (id, name, identifiers) is the repetition number.
      tenants.push(JSON.parse(fill(JSON.stringify(record), k)) as Tenant);
    }
  }

  const drafts: (Omit<PlannedJob, 'startMs' | 'endMs'> & { offsetMs: number; durationMs: number })[] = [];
  const lineages: Lineage[] = [];
  for (const job of scenario.jobs) {
    for (let k = 1; k <= job.repeat; k++) {
      const offsetMs = Math.round(draw(job.start, ms) / step) * step;
      const durationMs = Math.max(step, Math.round(draw(job.duration, ms) / step) * step);
      const gpus = Math.max(1, Math.round(draw(job.gpus, Number)));
      drafts.push(...splitJob(job, k, { offsetMs, durationMs, gpus }, clusters, lineages));
    }
  }
  const lengthMs = Math.max(...drafts.map((d) => d.offsetMs + d.durationMs));
  const startMs = endMs - lengthMs;
  const jobs = drafts.map(({ offsetMs, durationMs, ...j }) => ({ ...j, labels: { scenario: scenario.name, ...j.labels }, startMs: startMs + offsetMs, endMs: startMs + offsetMs + durationMs }));
  const eventCount = jobs.reduce((n, j) => n + Math.ceil((j.endMs - j.startMs) / step), 0);
  return { scenario, tenants, lineages, jobs, timeline: { startMs, endMs }, eventCount };
}

function splitJob(
  job: ScenarioJob, k: number, drawn: { offsetMs: number; durationMs: number; gpus: number },
  clusters: Map<string, Scenario['clusters'][number]>, lineages: Lineage[],
) {
  const accounts = (job.split ? job.split.tenants : [job.tenant!]).map((t) => fill(t, k));
  const jobId = fill(job.id, k);
  // Thousandths of a GPU are the finest share a report carries.
  const gpus = Math.floor((drawn.gpus * 1000) / accounts.length) / 1000;
  let parent = job.lineage?.parentId ?? null;
  return accounts.map((tenantId, a) => {
    // Accounts of a split, and repetitions of a job, spread over the clusters round-robin.
    const clusterSpec = clusters.get(job.clusters[(a + k - 1) % job.clusters.length]!)!;
    let lineage: PlannedJob['lineage'] = null;
    if (job.lineage) {
      const base = fill(job.lineage.id, k);
      const id = job.split?.lineage === 'chain' ? `${base}-${a + 1}` : base;
      if (!lineages.some((l) => l.id === id)) {
        lineages.push({ id, parentId: parent, tenantId, baseModel: a === 0 ? job.lineage.baseModel : null, notes: `scenario lineage (${job.split?.lineage ?? 'single'})` });
      }
      lineage = { id, parentId: parent, checkpoints: job.lineage.checkpoints };
      if (job.split?.lineage === 'chain') parent = id;
    }
    return {
      jobId: accounts.length > 1 ? `${jobId}-${tenantId}` : jobId,
      tenantId,
      cluster: { id: clusterSpec.id, region: clusterSpec.region, country: clusterSpec.country },
      accelerator: job.accelerator ?? clusterSpec.accelerators[0]!,
      gpus,
      precision: job.precision,
      utilization: job.utilization,
      reportUtilization: job.reportUtilization,
      lineage,
      labels: job.labels,
      offsetMs: drawn.offsetMs,
      durationMs: drawn.durationMs,
    };
  });
}

/** Utilization at an instant of a job (`progress` 0…1 through it). */
export function utilizationAt(profile: UtilizationProfile, atMs: number, progress: number, noise: number): number {
  const clamp = (x: number) => Math.min(1, Math.max(0, Math.round(x * 1e4) / 1e4));
  switch (profile.profile) {
    case 'constant': return clamp(profile.value);
    case 'ramp': return clamp(profile.from + (profile.to - profile.from) * progress);
    case 'diurnal': return clamp(profile.mean + profile.amplitude * Math.cos(((atMs / 3_600_000 - 14) / 24) * 2 * Math.PI));
    case 'noisy': return clamp(profile.mean + profile.jitter * (noise * 2 - 1));
  }
}

/** One planned job's usage reports, in time order. */
export function* plannedJobEvents(job: PlannedJob, intervalSeconds: number, seed: number): Generator<UsageEvent> {
  const step = intervalSeconds * 1000;
  const random = seededRandom(seed);
  for (let start = job.startMs, n = 0; start < job.endMs; start += step, n++) {
    const end = Math.min(start + step, job.endMs);
    const interval = { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
    const util = utilizationAt(job.utilization, (start + end) / 2, (start - job.startMs) / (job.endMs - job.startMs), random());
    yield {
      specversion: '1.0',
      type: USAGE_EVENT_TYPE,
      source: `sim://${job.cluster.id}`,
      id: `${job.cluster.id}/${job.jobId}/${interval.start}`,
      time: interval.end,
      subject: job.tenantId,
      data: {
        tenantId: job.tenantId,
        jobId: job.jobId,
        cluster: job.cluster,
        accelerator: { model: job.accelerator, count: job.gpus },
        interval,
        precision: job.precision,
        ...(job.reportUtilization ? { utilization: { tensorActive: util } } : {}),
        ...(job.lineage ? {
          lineage: {
            id: job.lineage.id,
            parentId: job.lineage.parentId,
            ...(job.lineage.checkpoints ? { checkpointIn: sha(`${job.lineage.id}:${n}`), checkpointOut: sha(`${job.lineage.id}:${n + 1}`) } : {}),
          },
        } : {}),
        labels: job.labels,
      },
    };
  }
}

/** Every job's reports merged in order of interval end: the order a live cluster would send them. */
export function planEvents(plan: ScenarioPlan): UsageEvent[] {
  const all = plan.jobs.flatMap((job, i) => [...plannedJobEvents(job, plan.scenario.intervalSeconds, plan.scenario.seed + i)]);
  return all.sort((a, b) => Date.parse(a.data.interval.end) - Date.parse(b.data.interval.end));
}
