import { z } from 'zod';

// jobcomp/kafka writes local times without an offset on some versions; those are read as UTC.
const slurmTimeSchema = z.iso.datetime({ offset: true, local: true });

/** The fields of a Slurm `jobcomp/kafka` job record that flopwatch uses; other fields pass through. */
export const slurmJobRecordSchema = z.looseObject({
  jobid: z.number().int().nonnegative(),
  account: z.string().min(1).max(128),
  cluster: z.string().min(1).max(128),
  partition: z.string().min(1).max(128),
  '@start': slurmTimeSchema,
  '@end': slurmTimeSchema,
  elapsed: z.number().nonnegative(),
  tres_alloc: z.string().max(4096).optional(),
  // The job's nodes as a hostlist expression (`gpu[01-04]`): the record is then reported per node.
  nodes: z.string().max(65_536).optional(),
  state: z.string().min(1).max(64),
});
export type SlurmJobRecord = z.infer<typeof slurmJobRecordSchema>;

const GPU_TRES = /^gres\/gpu(?::([^=]+))?$/;

/**
 * GPUs allocated according to a TRES string such as `cpu=64,node=8,gres/gpu=64` or `gres/gpu:h100=64`.
 * Slurm often lists the untyped total beside the typed counts; the total wins, else typed counts add up.
 */
export function gpusFromTres(tres: string | undefined): number | undefined {
  if (tres === undefined || tres.trim() === '') return 0;
  let total: number | undefined;
  let typed = 0;
  for (const part of tres.split(',')) {
    const [key, value] = part.split('=', 2).map((s) => s.trim());
    const match = key === undefined ? null : GPU_TRES.exec(key);
    if (!match) continue;
    const count = Number(value);
    if (!Number.isInteger(count) || count < 0) return undefined;
    if (match[1] === undefined) total = count;
    else typed += count;
  }
  return total ?? typed;
}
