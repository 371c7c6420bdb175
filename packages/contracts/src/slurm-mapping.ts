import { z } from 'zod';
import { ContractError } from './errors.js';
import { describeZodError } from './dlq.js';
import { precisionSchema, type Precision } from './precision.js';
import { splitGpus, expandHostlist, type NodeShare } from './slurm-nodes.js';
import { gpusFromTres, slurmJobRecordSchema, type SlurmJobRecord } from './slurm-record.js';
import { USAGE_EVENT_TYPE, usageEventSchema, type UsageEvent } from './usage-event.js';

/** Where a Slurm partition's GPUs and a cluster's machines are: configured by the provider. */
export interface SlurmMapping {
  partitions: Record<string, { accelerator: string; precision?: Precision }>;
  clusters: Record<string, { country: string; region?: string }>;
}

/** The `SLURM_MAPPING_FILE` table as the ingest and the collector read it (the file is YAML). */
export const slurmMappingSchema = z.object({
  partitions: z.record(z.string(), z.object({ accelerator: z.string().min(1), precision: precisionSchema.optional() })),
  clusters: z.record(z.string(), z.object({ country: z.string().length(2), region: z.string().optional() })),
});

export interface SlurmMappingOptions {
  /** The policy's longest allowed interval; longer jobs are split into pieces no longer than this. */
  maxIntervalSeconds: number;
  /** CloudEvents `source`; defaults to `slurm://<cluster>`. */
  source?: string;
}

// Most large training runs use bf16; a partition that runs another format says so in the mapping.
const DEFAULT_PRECISION: Precision = 'bf16';

/**
 * Maps one job record to contiguous usage events no longer than `maxIntervalSeconds`. With a node
 * list (`nodes`) the job is reported per node, its GPUs split evenly over the nodes in thousandths
 * (the parts add up to the total), ids `<cluster>/<jobid>/<node>/<start>`; without one it is
 * reported whole, ids `<cluster>/<jobid>/<start>`. A redelivered record yields the same events.
 * No GPUs → no events.
 */
export function slurmRecordToUsageEvents(input: unknown, mapping: SlurmMapping, options: SlurmMappingOptions): UsageEvent[] {
  const parsed = slurmJobRecordSchema.safeParse(input);
  if (!parsed.success) {
    throw new ContractError('invalid_slurm_record', `invalid Slurm job record: ${describeZodError(parsed.error)}`, { cause: parsed.error });
  }
  const record = parsed.data;
  const gpus = gpusFromTres(record.tres_alloc);
  if (gpus === undefined) {
    throw new ContractError('invalid_slurm_record', `job ${record.jobid}: unreadable GPU count in tres_alloc "${record.tres_alloc}"`);
  }
  if (gpus === 0) return [];
  const partition = mapping.partitions[record.partition];
  if (!partition) {
    throw new ContractError('unmapped_partition', `job ${record.jobid}: partition "${record.partition}" of cluster "${record.cluster}" has no accelerator mapping`);
  }
  const cluster = mapping.clusters[record.cluster];
  if (!cluster) {
    throw new ContractError('unmapped_cluster', `job ${record.jobid}: cluster "${record.cluster}" has no country mapping`);
  }
  if (!(options.maxIntervalSeconds > 0)) {
    throw new RangeError(`maxIntervalSeconds must be positive, got ${options.maxIntervalSeconds}`);
  }
  let shares: (NodeShare | { node: undefined; gpus: number })[] = [{ node: undefined, gpus }];
  if (record.nodes !== undefined && record.nodes.trim() !== '') {
    const nodes = expandHostlist(record.nodes);
    if (nodes === undefined || nodes.length === 0) {
      throw new ContractError('invalid_slurm_record', `job ${record.jobid}: unreadable node list "${record.nodes.slice(0, 200)}"`);
    }
    shares = splitGpus(gpus, nodes);
  }
  const startMs = parseSlurmTime(record['@start']);
  const endMs = parseSlurmTime(record['@end']);
  const events: UsageEvent[] = [];
  const stepMs = Math.floor(options.maxIntervalSeconds * 1000);
  for (let from = startMs; from < endMs; from += stepMs) {
    const to = Math.min(from + stepMs, endMs);
    for (const share of shares) events.push(toEvent(record, { from, to, node: share.node, gpus: share.gpus, accelerator: partition.accelerator, precision: partition.precision ?? DEFAULT_PRECISION, cluster, source: options.source }));
  }
  return events;
}

interface Piece {
  from: number;
  to: number;
  /** The node this piece covers; undefined for a whole-job report. */
  node: string | undefined;
  gpus: number;
  accelerator: string;
  precision: Precision;
  cluster: { country: string; region?: string };
  source: string | undefined;
}

function toEvent(record: SlurmJobRecord, piece: Piece): UsageEvent {
  const start = rfc3339(piece.from);
  const candidate = {
    specversion: '1.0',
    type: USAGE_EVENT_TYPE,
    source: piece.source ?? `slurm://${record.cluster}`,
    id: piece.node === undefined ? `${record.cluster}/${record.jobid}/${start}` : `${record.cluster}/${record.jobid}/${piece.node}/${start}`,
    time: rfc3339(piece.to),
    subject: record.account,
    data: {
      tenantId: record.account,
      jobId: String(record.jobid),
      ...(piece.node === undefined ? {} : { node: piece.node }),
      cluster: { id: record.cluster, country: piece.cluster.country, ...(piece.cluster.region === undefined ? {} : { region: piece.cluster.region }) },
      accelerator: { model: piece.accelerator, count: piece.gpus },
      interval: { start, end: rfc3339(piece.to) },
      precision: piece.precision,
      labels: { 'slurm.partition': record.partition, 'slurm.state': record.state },
    },
  };
  const parsed = usageEventSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new ContractError('invalid_slurm_record', `job ${record.jobid}: maps to an invalid usage event: ${describeZodError(parsed.error)}`, { cause: parsed.error });
  }
  return parsed.data;
}

function parseSlurmTime(text: string): number {
  const hasOffset = /(?:Z|[+-]\d\d:\d\d)$/.test(text);
  return Date.parse(hasOffset ? text : `${text}Z`);
}

// Whole seconds without `.000`, as in ARCHITECTURE.md's example ids.
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}
