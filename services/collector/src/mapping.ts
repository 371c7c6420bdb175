import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { idSchema, slurmMappingSchema, type SlurmMapping } from '@flopwatch/contracts';

/** Who pays for a Kubernetes namespace or a Slurm account: the provider's own table (YAML). */
export const tenantMappingSchema = z.object({
  /** Kubernetes namespace → tenant id (the DCGM exporter's `namespace` label). */
  namespaces: z.record(z.string(), idSchema).default({}),
  /** Slurm account → tenant id (slurmrestd's `account`, and the account of a DCGM `hpc_job`). */
  accounts: z.record(z.string(), idSchema).default({}),
});
export type TenantMapping = z.output<typeof tenantMappingSchema>;

function loadYaml<T extends z.ZodType>(schema: T, path: string, what: string): z.output<T> {
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`cannot read the ${what} ${path}: ${(cause as Error).message}`, { cause });
  }
  const result = schema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid ${what} ${path}: ${problems}`);
  }
  return result.data;
}

/** Reads TENANT_MAPPING_FILE; a broken file names the field. */
export const loadTenantMapping = (path: string): TenantMapping => loadYaml(tenantMappingSchema, path, 'tenant mapping');

/** Reads SLURM_MAPPING_FILE (the same file the ingest reads for jobcomp records). */
export const loadSlurmMapping = (path: string): SlurmMapping => loadYaml(slurmMappingSchema, path, 'Slurm mapping');
