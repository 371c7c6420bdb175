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
import type { PolicyPack } from '@flopwatch/policy';
import type { LineageFact, UsageRecord } from '@flopwatch/store';
import { createRecordMaker, toLineageFact } from './records.js';
import { isUsageEvent } from './usage-check.js';

/** Which input format a topic carries. */
export type InputKind = 'telemetry' | 'slurm';

export interface DecoderOptions {
  pack: PolicyPack;
  slurm: SlurmMapping | null;
  maxMessageBytes: number;
}

/** Why a message goes to the dead-letter topic. */
export interface Refusal {
  reason: DlqReason;
  message: string;
}

/** Where decoded messages add their usage records and lineage facts. */
export interface Decoded {
  records: UsageRecord[];
  facts: LineageFact[];
}

const refuse = (reason: DlqReason, message: string): Refusal => ({ reason, message });

/**
 * One Kafka message → the usage records it carries (added to `into`), or the reason it goes to the
 * dead-letter topic. The contract is checked by plain code (`isUsageEvent`), and a refusal is
 * described by zod, the source of truth, so DLQ reasons and messages are zod's; the policy checks and
 * the estimate run with accelerators and countries resolved once per pack (`createRecordMaker`).
 * A Slurm record carrying several events is refused whole when one of them is refused.
 */
export function createDecoder(options: DecoderOptions) {
  const { pack, slurm, maxMessageBytes } = options;
  const toRecord = createRecordMaker(pack);

  function add(events: UsageEvent[], offset: string, nowMs: number, into: Decoded): Refusal | null {
    if (events.length === 1) return addOne(events[0]!, offset, nowMs, into);
    const records: UsageRecord[] = [];
    for (const event of events) {
      const record = toRecord(event, offset, nowMs);
      if ('ok' in record) return record;
      records.push(record);
    }
    into.records.push(...records);
    for (const event of events) if (event.data.lineage) addFact(event, into);
    return null;
  }

  return function decode(kind: InputKind, value: Buffer | null, offset: string, nowMs: number, into: Decoded): Refusal | null {
    if (value === null || value.length === 0) return refuse('not_json', 'message has no value');
    if (value.length > maxMessageBytes) return refuse('too_large', `message of ${value.length} bytes exceeds the ${maxMessageBytes}-byte limit`);
    let json: unknown;
    try {
      json = JSON.parse(value.toString('utf8'));
    } catch (err) {
      return refuse('not_json', `value is not JSON: ${(err as Error).message}`);
    }
    if (kind === 'telemetry' && isUsageEvent(json)) return addOne(json as UsageEvent, offset, nowMs, into); // the common case
    const events = kind === 'slurm' ? fromSlurm(json) : fromCloudEvent(json);
    if (!Array.isArray(events)) return events;
    return add(events, offset, nowMs, into);
  };

  function addOne(event: UsageEvent, offset: string, nowMs: number, into: Decoded): Refusal | null {
    const record = toRecord(event, offset, nowMs);
    if ('ok' in record) return record;
    into.records.push(record);
    if (event.data.lineage) addFact(event, into);
    return null;
  }

  function addFact(event: UsageEvent, into: Decoded): void {
    const fact = toLineageFact(event);
    if (fact && (fact.parentId || fact.checkpointIn || fact.checkpointOut)) into.facts.push(fact);
  }

  function fromCloudEvent(json: unknown): UsageEvent[] | Refusal {
    if (typeof json === 'object' && json !== null && 'type' in json && json.type !== USAGE_EVENT_TYPE) {
      return refuse('unsupported_type', `CloudEvents type ${JSON.stringify(json.type)} is not ${USAGE_EVENT_TYPE}`);
    }
    // Only events the plain check refused come here; should zod accept one, zod decides.
    const parsed = usageEventSchema.safeParse(json);
    if (!parsed.success) return refuse('schema_violation', describeZodError(parsed.error));
    return [parsed.data];
  }

  function fromSlurm(json: unknown): UsageEvent[] | Refusal {
    if (!slurm) return refuse('unmapped_partition', 'no Slurm mapping is configured (SLURM_MAPPING_FILE)');
    try {
      return slurmRecordToUsageEvents(json, slurm, { maxIntervalSeconds: pack.limits.maxIntervalSeconds });
    } catch (err) {
      if (err instanceof ContractError && (err.code === 'invalid_slurm_record' || err.code === 'unmapped_partition' || err.code === 'unmapped_cluster')) {
        return refuse(err.code, err.message);
      }
      throw err;
    }
  }
}

export type Decoder = ReturnType<typeof createDecoder>;
