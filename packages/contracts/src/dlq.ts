import type { z } from 'zod';

/** Why an input went to the dead-letter topic; carried in a message header. */
export const DLQ_REASONS = [
  'not_json',
  'schema_violation',
  'unsupported_type',
  'unknown_accelerator',
  'unknown_country',
  'invalid_interval',
  'interval_too_long',
  'interval_in_future',
  'too_large',
  'invalid_slurm_record',
  'unmapped_partition',
  'unmapped_cluster',
  'mixed_granularity',
  'interval_too_late',
  'apply_failed',
  // The dead letter itself was larger than the DLQ topic accepts: a truncated copy (see
  // services/ingest/README.md, "Dead letters too large for the DLQ"); never replayable.
  'message_too_large',
] as const;
export type DlqReason = (typeof DLQ_REASONS)[number];

/** One line per issue, each naming the field path: `data.accelerator.count: Too big: expected number to be <=1000000`. */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}
