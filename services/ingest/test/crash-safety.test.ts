// A crash in a real ingest process (an uncaught exception or an unhandled rejection, thrown from the
// event loop by a preloaded module on SIGUSR2) is logged, the consumer leaves its group at once (not
// after the session timeout), Redis and Kafka clients close, and the process exits 1.
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, testKafka, uniqueId, waitFor } from '@flopwatch/test-harness';
import { spawnIngest, testStore, testTopics } from './helpers.js';

const injector = fileURLToPath(new URL('./fixtures/crash-on-signal.mjs', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function groupMembers(groupId: string): Promise<{ state: string; members: number }> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return { state: groups[0]?.state ?? 'Dead', members: groups[0]?.members.length ?? 0 };
  } finally {
    await admin.disconnect();
  }
}

describe('ingest crash safety', () => {
  for (const kind of ['exception', 'rejection'] as const) {
    it(`on an unhandled ${kind}: logs it, leaves the consumer group, closes its clients and exits 1`, async () => {
      const topics = await testTopics();
      const s = testStore();
      cleanups.push(async () => {
        await dropPrefix(s.redis, s.prefix);
        s.redis.disconnect();
      });
      const groupId = uniqueId('crash-group');
      const proc = spawnIngest({
        NODE_OPTIONS: `--import=${injector}`,
        FLOPWATCH_TEST_CRASH: kind,
        REDIS_PREFIX: s.prefix,
        TELEMETRY_TOPIC: topics.telemetry,
        SLURM_TOPIC: topics.slurm,
        DLQ_TOPIC: topics.dlq,
        INGEST_GROUP_ID: groupId,
        TOPIC_PARTITIONS: '3',
        // Far longer than the test: only an explicit LeaveGroup can empty the group in time.
        KAFKA_SESSION_TIMEOUT: '5m',
      });
      cleanups.push(async () => void proc.child.kill('SIGKILL'));
      await waitFor(() => proc.lines.some((l) => l.includes('ingest ready')), { what: 'the ingest to be ready', timeoutMs: 60_000 });
      await waitFor(async () => (await groupMembers(groupId)).members === 1, { what: 'the instance to join its group', timeoutMs: 30_000 });

      proc.child.kill('SIGUSR2');
      const code = await Promise.race([proc.exited, new Promise((r) => setTimeout(() => r('still running'), 45_000))]);
      expect(code, proc.lines.join('\n')).toBe(1);

      const logged = proc.lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as { level: string; msg: string; kind?: string; step?: string; err?: { message?: string } }];
        } catch {
          return [];
        }
      });
      const fatal = logged.find((l) => l.level === 'fatal' && l.kind === (kind === 'exception' ? 'uncaughtException' : 'unhandledRejection'));
      expect(fatal?.err?.message).toBe(kind === 'exception' ? 'injected uncaught exception' : 'injected unhandled rejection');
      const closed = logged.filter((l) => l.msg === 'closed').map((l) => l.step);
      expect(closed).toEqual(expect.arrayContaining(['ingest', 'ops-server', 'kafka', 'redis']));
      expect(logged.some((l) => l.msg === 'ingest stopped')).toBe(true);
      // The group is empty right away: the member left instead of timing out 5 minutes later.
      expect(await groupMembers(groupId)).toEqual({ state: 'Empty', members: 0 });
    });
  }
});
