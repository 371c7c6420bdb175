// The project's patch of kafkajs's network reader (patches/kafkajs@2.2.4.patch):
// - a response of 1 MiB or more is copied into one buffer of its size as its chunks arrive, instead of
//   being held as chunks and concatenated at the end (twice its size at the peak). These tests feed
//   kafkajs's own Connection the byte stream of many responses, cut at arbitrary points, and check
//   every response comes out whole, in order, and without a large concatenation; then a real
//   broker's large fetches.
// - a reconnect starts reading afresh: kafkajs kept what a closed socket left of a response and read
//   the new socket's bytes as its continuation, misframing every response after it. Checked with a
//   real TCP server that closes the first socket in the middle of a response.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EachBatchPayload } from 'kafkajs';
import { freshTopics, testKafka, uniqueId, waitFor } from '@flopwatch/test-harness';

const require = createRequire(import.meta.url);
const kafkajsRoot = require.resolve('kafkajs').replace(/index\.js$/, '');
const Connection = require(`${kafkajsRoot}src/network/connection.js`) as new (options: object) => ConnectionInternals;
const { createLogger, LEVELS } = require(`${kafkajsRoot}src/loggers/index.js`) as { createLogger: (o: object) => unknown; LEVELS: { NOTHING: number } };
const defaultSocketFactory = require(`${kafkajsRoot}src/network/socketFactory.js`) as () => unknown;

interface Fulfilled {
  size: number;
  correlationId: number;
  payload: Buffer;
}
interface ConnectionInternals {
  requestQueue: { fulfillRequest: (response: Fulfilled) => void };
  processData: (chunk: Buffer) => void;
  connect(): Promise<boolean>;
  disconnect(): Promise<boolean>;
  isConnected(): boolean;
}

const MiB = 1024 * 1024;

/** A response as a broker frames it: int32 size (of what follows), int32 correlation id, payload. */
function frame(correlationId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(4 + payload.length, 0);
  head.writeInt32BE(correlationId, 4);
  return Buffer.concat([head, payload]);
}

function receiver() {
  const connection = new Connection({ host: '127.0.0.1', port: 9, logger: createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} }), socketFactory: () => null });
  const got: Fulfilled[] = [];
  connection.requestQueue = { fulfillRequest: (r) => got.push({ ...r, payload: Buffer.from(r.payload) }) };
  return { connection, got };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('kafkajs network reader (patched)', () => {
  it('delivers every response whole and in order, wherever the stream is cut, without concatenating a large one', () => {
    fc.assert(
      fc.property(
        // Payload sizes: mostly small (metadata, heartbeats), some of several MiB (fetches).
        fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: MiB - 8, max: 3 * MiB })), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 256 * 1024 }), { minLength: 1, maxLength: 40 }),
        (sizes, cuts) => {
          const payloads = sizes.map((n) => randomBytes(n));
          const stream = Buffer.concat(payloads.map((p, i) => frame(1000 + i, p)));
          const concat = vi.spyOn(Buffer, 'concat');
          const { connection, got } = receiver();
          // Chunks of the given sizes in turn (the last one repeats) until the stream is consumed.
          for (let at = 0, i = 0; at < stream.length; i++) {
            const size = cuts[Math.min(i, cuts.length - 1)]!;
            connection.processData(stream.subarray(at, at + size));
            at += size;
          }
          const largest = Math.max(0, ...concat.mock.calls.map(([list]) => (list as Buffer[]).reduce((n, b) => n + b.length, 0)));
          concat.mockRestore();
          expect(got.map((r) => r.correlationId)).toEqual(payloads.map((_, i) => 1000 + i));
          got.forEach((r, i) => {
            expect(r.size).toBe(4 + payloads[i]!.length);
            expect(r.payload.equals(payloads[i]!)).toBe(true);
          });
          // Chunks are joined only while a response's size is unknown or the response is small.
          expect(largest).toBeLessThan(MiB + 256 * 1024);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('delivers two responses that arrive in one chunk, the first of them large', () => {
    const big = randomBytes(2 * MiB);
    const small = randomBytes(17);
    const stream = Buffer.concat([frame(7, big), frame(8, small)]);
    const { connection, got } = receiver();
    connection.processData(stream.subarray(0, 100)); // the size is known: the rest is copied in
    connection.processData(stream.subarray(100)); // the large one's end and the whole small one
    expect(got.map((r) => r.correlationId)).toEqual([7, 8]);
    expect(got[0]!.payload.equals(big)).toBe(true);
    expect(got[1]!.payload.equals(small)).toBe(true);
  });

  it('consumes large fetches from a real broker intact', async () => {
    const [topic] = await freshTopics(['big-fetch'], { numPartitions: 1 });
    // 1,536 messages of 4 KiB: 6 MiB in one partition, fetched in responses of up to 4 MiB each.
    const values = Array.from({ length: 1536 }, () => randomBytes(4096));
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const kafka = testKafka();
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < values.length; i += 256) await producer.send({ topic, messages: values.slice(i, i + 256).map((value) => ({ value })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: uniqueId('big-fetch-group'), maxBytesPerPartition: 4 * MiB, maxBytes: 4 * MiB });
    const seen: string[] = [];
    let largest = 0;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachBatch: async ({ batch }: EachBatchPayload) => {
          largest = Math.max(largest, batch.messages.length);
          for (const m of batch.messages) seen.push(digest(m.value!));
          if (seen.length >= values.length) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();
    expect(seen).toEqual(values.map(digest));
    // At least one fetch was over the 1 MiB from which responses are preallocated.
    expect(largest * 4096).toBeGreaterThan(MiB);
  });

  it('starts afresh on a new socket: what a closed socket left of a response is not read as the next one', async () => {
    const small = randomBytes(100);
    const sockets: Socket[] = [];
    // A real TCP server: the first connection gets half of a 2 MiB response and is closed, the
    // second a whole small response.
    const server = createServer((socket) => {
      sockets.push(socket);
      if (sockets.length === 1) socket.end(frame(1, randomBytes(2 * MiB)).subarray(0, MiB + 123));
      else socket.write(frame(2, small));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const connection = new Connection({
      host: '127.0.0.1', port, logger: createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} }),
      socketFactory: defaultSocketFactory(), connectionTimeout: 5_000, requestTimeout: 5_000,
    });
    const got: Fulfilled[] = [];
    connection.requestQueue.fulfillRequest = (r) => got.push({ ...r, payload: Buffer.from(r.payload) });
    try {
      await connection.connect();
      await waitFor(() => !connection.isConnected(), { what: 'the server to close the first socket', timeoutMs: 10_000 });
      await connection.connect();
      await waitFor(() => got.length > 0, { what: 'the second socket\'s response', timeoutMs: 10_000 });
      expect(got.map((r) => r.correlationId)).toEqual([2]);
      expect(got[0]!.payload.equals(small)).toBe(true);
    } finally {
      await connection.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
