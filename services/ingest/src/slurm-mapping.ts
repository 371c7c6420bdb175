import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { slurmMappingSchema as mappingSchema, type SlurmMapping } from '@flopwatch/contracts';

/** Reads the partition → accelerator and cluster → country table; a broken file names the field. */
export function loadSlurmMapping(path: string): SlurmMapping {
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`cannot read the Slurm mapping ${path}: ${(cause as Error).message}`, { cause });
  }
  const result = mappingSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid Slurm mapping ${path}: ${problems}`);
  }
  return result.data;
}
