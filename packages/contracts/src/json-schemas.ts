import { z } from 'zod';
import { alertSchema } from './alert.js';
import { alertTransitionSchema } from './alert-case.js';
import { lineageSchema } from './lineage.js';
import { slurmJobRecordSchema } from './slurm-record.js';
import { tenantSchema } from './tenant.js';
import { usageEventSchema } from './usage-event.js';
import { webhookPayloadSchema } from './webhook.js';

/** The public contracts, by the file name their JSON Schema is published under (`schema/<name>.json`). */
export const PUBLIC_CONTRACTS = {
  'usage-event': usageEventSchema,
  'slurm-job-record': slurmJobRecordSchema,
  tenant: tenantSchema,
  lineage: lineageSchema,
  alert: alertSchema,
  'alert-transition': alertTransitionSchema,
  'webhook-payload': webhookPayloadSchema,
} as const satisfies Record<string, z.ZodType>;
export type PublicContractName = keyof typeof PUBLIC_CONTRACTS;

/** JSON Schema (2020-12) of a public contract, describing what a producer may send. */
export function contractJsonSchema(name: PublicContractName): Record<string, unknown> {
  const schema = z.toJSONSchema(PUBLIC_CONTRACTS[name], { io: 'input', target: 'draft-2020-12' });
  return { ...schema, $id: `urn:flopwatch:schema:${name}`, title: name };
}
