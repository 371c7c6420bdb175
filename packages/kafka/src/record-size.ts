// How many bytes a produce request's record batch takes, so a send can be split into requests the
// broker accepts. Kafka refuses a record batch larger than the topic's `max.message.bytes` (checked
// per partition batch, after compression, against the whole batch: `RecordBatch.sizeInBytes`, header
// included) with MESSAGE_TOO_LARGE, which no retry cures. The layout is Kafka's v2 record format, as
// kafkajs 2.2.4 writes it (src/protocol/recordBatch/v0 and record/v0).
import type { OutgoingMessage } from './producer.js';

/**
 * The v2 batch header: baseOffset 8, batchLength 4, partitionLeaderEpoch 4, magic 1, crc 4,
 * attributes 2, lastOffsetDelta 4, baseTimestamp 8, maxTimestamp 8, producerId 8, producerEpoch 2,
 * baseSequence 4, record count 4.
 */
export const RECORD_BATCH_OVERHEAD = 61;

/** Bytes of a zig-zag varint (Kafka's varint and varlong) of an integer; exact up to 2^53. */
export function varintBytes(n: number): number {
  let z = n >= 0 ? 2 * n : -2 * n - 1;
  let bytes = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    bytes += 1;
  }
  return bytes;
}

const byteLength = (v: string | Buffer): number => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length);
/** A header value's bytes with its varint length; kafkajs writes a null one as the varint -1. */
const headerValueBytes = (v: string | Buffer | null | undefined): number => {
  if (v === null || v === undefined) return 1;
  const n = byteLength(v);
  return varintBytes(n) + n;
};

/**
 * The bytes of a record that do not depend on its place in a batch: attributes (1), key, value and
 * headers with their varint lengths (a null key is the varint -1).
 */
export function recordContentBytes(m: OutgoingMessage): number {
  let size = 1;
  if (m.key === null || m.key === undefined) size += 1;
  else {
    const k = byteLength(m.key);
    size += varintBytes(k) + k;
  }
  const v = byteLength(m.value);
  size += varintBytes(v) + v;
  const headers = m.headers ? Object.entries(m.headers) : [];
  size += varintBytes(headers.length);
  for (const [name, value] of headers) {
    const k = Buffer.byteLength(name, 'utf8');
    size += varintBytes(k) + k + headerValueBytes(value);
  }
  return size;
}

/** A record's bytes: its length varint, the timestamp and offset deltas, and its content. */
function recordBytes(content: number, offsetDelta: number, timestampBytes: number): number {
  const body = content + timestampBytes + varintBytes(offsetDelta);
  return varintBytes(body) + body;
}

/**
 * gzip's framing over the compressed records (10-byte header, 8-byte trailer, 5 bytes per stored
 * deflate block when the data does not compress): an upper bound, so a gzip batch never exceeds the
 * uncompressed estimate by more than this.
 */
function gzipMargin(bytes: number): number {
  return 64 + Math.ceil(bytes / 1000);
}

/**
 * Upper bound on the bytes of each record's timestamp delta in any batch made of `messages` (or a
 * subset). kafkajs stamps a message without a timestamp with the send's `Date.now()` and takes the
 * delta from the batch's smallest explicit timestamp, so without explicit timestamps every delta is 0
 * (1 byte); with them, the spread of the timestamps and of "now" (± 1 hour of clock slack) bounds it.
 */
export function timestampDeltaBytes(messages: readonly OutgoingMessage[], now = Date.now()): number {
  let min = Infinity;
  let max = -Infinity;
  for (const m of messages) {
    if (m.timestamp === undefined) continue;
    if (m.timestamp < min) min = m.timestamp;
    if (m.timestamp > max) max = m.timestamp;
  }
  if (min === Infinity) return 1;
  const slack = 3_600_000;
  const spread = Math.max(max - min, Math.abs(now + slack - min), Math.abs(now - slack - max), Math.abs(now - slack - min), Math.abs(now + slack - max));
  return varintBytes(-spread - 1);
}

/** Sizes of a send's messages, computed once and reused however often the send is re-planned. */
export interface SizedMessages {
  readonly content: number[];
  readonly timestampBytes: number;
  readonly gzip: boolean;
}

export function sizeMessages(messages: readonly OutgoingMessage[], gzip = false): SizedMessages {
  return { content: messages.map(recordContentBytes), timestampBytes: timestampDeltaBytes(messages), gzip };
}

/**
 * The exact size of the record batch holding `content` alone (offset and timestamp deltas 0); with
 * gzip, an upper bound. A record whose single batch exceeds the topic's limit fits no request.
 */
export function singleRecordBatchBytes(content: number, gzip = false): number {
  const records = recordBytes(content, 0, 1);
  return RECORD_BATCH_OVERHEAD + records + (gzip ? gzipMargin(records) : 0);
}

/**
 * How many messages from `start` go into the next request so that its record batch stays within
 * `budget` bytes, and the batch's estimated size. The estimate is an upper bound for every partition's
 * batch of the request: each partition's batch holds a subset of the request's records at offset
 * deltas no larger than their place in the request. Returns `count: 0` when the message at `start`
 * alone exceeds the budget.
 */
export function nextRequest(sized: SizedMessages, start: number, budget: number): { count: number; bytes: number } {
  let bytes = RECORD_BATCH_OVERHEAD;
  let records = 0;
  let i = start;
  for (; i < sized.content.length; i++) {
    const r = recordBytes(sized.content[i]!, i - start, sized.timestampBytes);
    const total = RECORD_BATCH_OVERHEAD + records + r + (sized.gzip ? gzipMargin(records + r) : 0);
    if (total > budget) break;
    records += r;
    bytes = total;
  }
  if (i === start + 1 || i === start) {
    // One record: its batch is known exactly, whatever the timestamp bound says.
    const single = singleRecordBatchBytes(sized.content[start]!, sized.gzip);
    return single <= budget ? { count: 1, bytes: single } : { count: 0, bytes: single };
  }
  return { count: i - start, bytes };
}

/**
 * A copy of `m` whose value is cut to the most bytes with which its single-record batch fits
 * `limit` (key and headers kept as they are: the caller keeps them small). Undefined when even an
 * empty value does not fit. The cut is at a byte, so a UTF-8 value may end mid-character.
 */
export function fitRecord(m: OutgoingMessage, limit: number, gzip = false): OutgoingMessage | undefined {
  const value = typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : m.value;
  const empty = recordContentBytes({ ...m, value: Buffer.alloc(0) });
  const sizeWith = (n: number) => singleRecordBatchBytes(empty - 1 + varintBytes(n) + n, gzip);
  if (sizeWith(0) > limit) return undefined;
  let n = Math.min(value.length, limit);
  while (n > 0 && sizeWith(n) > limit) n = Math.max(0, n - Math.max(1, sizeWith(n) - limit));
  return { ...m, value: n === value.length ? value : value.subarray(0, n) };
}
