// The Alibaba cluster-trace-gpu-v2023 pod list ("Beware of Fragmentation", USENIX ATC 2023).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';

const optionalSeconds = z.string().transform((v, ctx) => {
  if (v.trim() === '') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    ctx.addIssue({ code: 'custom', message: `expected whole seconds, got "${v}"` });
    return z.NEVER;
  }
  return n;
});
const count = z.string().regex(/^\d+$/).transform(Number);

/** One row of `openb_pod_list_default.csv`; times are seconds from the trace start. */
export const tracePodSchema = z.object({
  name: z.string().min(1),
  num_gpu: count,
  // Thousandths of one GPU each of the pod's GPUs gets (1000 = whole GPUs; below is a shared GPU).
  gpu_milli: count,
  gpu_spec: z.string(),
  qos: z.string(),
  pod_phase: z.string(),
  creation_time: optionalSeconds,
  deletion_time: optionalSeconds,
  scheduled_time: optionalSeconds,
});
export type TracePod = z.output<typeof tracePodSchema>;

/** Parses the pod list CSV (header row first); a malformed row throws with its line number. */
export function parsePodList(csv: string): TracePod[] {
  const rows = parse(csv, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  return rows.map((row, i) => {
    const parsed = tracePodSchema.safeParse(row);
    if (!parsed.success) throw new Error(`pod list line ${i + 2}: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    return parsed.data;
  });
}

export function readPodList(path: string): TracePod[] {
  return parsePodList(readFileSync(path, 'utf8'));
}

const POD_LIST = join('alibaba-gpu-v2023', 'openb_pod_list_default.csv');

/**
 * Where the Alibaba trace's pod list is: under FLOPWATCH_DATA_DIR when set, else in the shared data
 * folder beside the repository. The trace is not shipped with flopwatch: its terms allow research and
 * study use, so each user fetches it from the public alibaba/clusterdata repository.
 */
export function podListPath(env: NodeJS.ProcessEnv = process.env): string {
  const dataDir = env.FLOPWATCH_DATA_DIR ?? fileURLToPath(new URL('../../../../../shared/data', import.meta.url));
  return join(dataDir, POD_LIST);
}

/** The pod list's path, or an error that says where it was looked for and how to provide it. */
export function requirePodList(env: NodeJS.ProcessEnv = process.env): string {
  const path = podListPath(env);
  if (!existsSync(path)) {
    throw new Error(
      `the Alibaba GPU trace is not at ${path}. Download cluster-trace-gpu-v2023/csv/openb_pod_list_default.csv ` +
        '(and the node lists) from the public alibaba/clusterdata repository into <dir>/alibaba-gpu-v2023/ and set FLOPWATCH_DATA_DIR=<dir>',
    );
  }
  return path;
}
