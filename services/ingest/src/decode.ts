import {
  ContractError,
  USAGE_EVENT_TYPE,
  describeZodError,
  slurmRecordToUsageEvents,
  usageEventSchema,
  type DlqReason,
  type SlurmMapping,
  type UsageEvent,
} from '@flopwatch/contracts';
import { validateUsage, type PolicyPack } from '@flopwatch/policy';

/** Which input format a topic carries. */
export type InputKind = 'telemetry' | 'slurm';

export interface DecodeContext {
  pack: PolicyPack;
  slurm: SlurmMapping | null;
  maxMessageBytes: number;
  now: Date;
}

export type Decoded = { ok: true; events: UsageEvent[] } | { ok: false; reason: DlqReason; message: string };

const reject = (reason: DlqReason, message: string): Decoded => ({ ok: false, reason, message });

/** One Kafka message → the usage events it carries, or the reason it goes to the dead-letter topic. */
export function decodeMessage(kind: InputKind, value: Buffer | null, ctx: DecodeContext): Decoded {
  if (value === null || value.length === 0) return reject('not_json', 'message has no value');
  if (value.length > ctx.maxMessageBytes) return reject('too_large', `message of ${value.length} bytes exceeds the ${ctx.maxMessageBytes}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return reject('not_json', `value is not JSON: ${(err as Error).message}`);
  }
  const events = kind === 'slurm' ? fromSlurm(json, ctx) : fromCloudEvent(json);
  if (!Array.isArray(events)) return events;
  for (const event of events) {
    const check = validateUsage(event, ctx.pack, ctx.now);
    if (!check.ok) return reject(check.reason, check.message);
  }
  return { ok: true, events };
}

function fromCloudEvent(json: unknown): UsageEvent[] | Decoded {
  if (typeof json === 'object' && json !== null && 'type' in json && json.type !== USAGE_EVENT_TYPE) {
    return reject('unsupported_type', `CloudEvents type ${JSON.stringify(json.type)} is not ${USAGE_EVENT_TYPE}`);
  }
  const parsed = usageEventSchema.safeParse(json);
  if (!parsed.success) return reject('schema_violation', describeZodError(parsed.error));
  return [parsed.data];
}

function fromSlurm(json: unknown, ctx: DecodeContext): UsageEvent[] | Decoded {
  if (!ctx.slurm) return reject('unmapped_partition', 'no Slurm mapping is configured (SLURM_MAPPING_FILE)');
  try {
    return slurmRecordToUsageEvents(json, ctx.slurm, { maxIntervalSeconds: ctx.pack.limits.maxIntervalSeconds });
  } catch (err) {
    if (err instanceof ContractError && (err.code === 'invalid_slurm_record' || err.code === 'unmapped_partition' || err.code === 'unmapped_cluster')) {
      return reject(err.code, err.message);
    }
    throw err;
  }
}
