// The Alibaba cluster-trace-gpu-v2023 pod list ("Beware of Fragmentation", USENIX ATC 2023).
import { readFileSync } from 'node:fs';
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

/** Where the trace lives in a checkout: the shared data folder beside the repository. */
export const DEFAULT_POD_LIST_PATH = new URL('../../../../../shared/data/alibaba-gpu-v2023/openb_pod_list_default.csv', import.meta.url).pathname;
