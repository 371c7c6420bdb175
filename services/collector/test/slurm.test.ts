// The Slurm poller end to end: a real single-node Slurm (slurmctld, slurmd, slurmrestd with JWT), real
// Kafka, the real ingest and real Redis. The expected GPU-seconds of each job come from Slurm's own
// record of it (`scontrol show job`: StartTime, EndTime, RunTime), or from the test's own poll times.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageEvent } from '@flopwatch/contracts';
import { createKafkaClient, createProducer, type KafkaClient, type KafkaProducer } from '@flopwatch/kafka';
import { dropPrefix, kafkaBrokers, startSlurm, uniqueId, waitFor, type TestSlurm } from '@flopwatch/test-harness';
import { SLURM, defaultPack, startIngest, testStore, testTopics, type TestIngest, type Topics } from '../../ingest/test/helpers.js';
import { createCollectorMetrics, createEmitter, createSlurmSource, createSlurmrestdClient, type CollectorMetrics, type SlurmSource } from '../src/app.js';

const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const pack = defaultPack();
// Dense BF16 peak of the H100 SXM5 (DOMAIN.md): 989.4 TFLOP/s.
const H100_BF16 = 989.4e12;
/** Tera-operations the books keep for `ms` of an event whose whole interval of `eventMs` has `operations`: the ingest's documented rounding. */
const tera = (ms: number, operations: number, eventMs = ms) => Math.floor(ms * (operations / 1e12 / eventMs) + 0.5);
// Short, so a job leaves the listing within the test: slurmctld purges ended jobs older than this on its next purge pass.
const MIN_JOB_AGE_S = 20;
const NODE = 'fwnode1';

let slurm: TestSlurm;
let kafka: KafkaClient;
let producer: KafkaProducer;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  // Sixteen GPUs and sixteen CPUs: the tests' jobs (one core each) run at once. slurmdbd keeps
  // the accounting; only the test that reads it gives its poller the /slurmdb endpoints.
  const accounts = ['long', 'j45', 'short', 'cancel', 'susp', 'down', 'lost', 'db-marked', 'db-unseen', 'requeue'].map((n) => `acct-${n}`);
  slurm = await startSlurm({ cluster: 'slurm-a', cpus: 16, gpus: 16, minJobAgeSeconds: MIN_JOB_AGE_S, accounting: true, accounts: [...accounts, 'tenant-a'] });
  kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('collector'), logger: silent });
  producer = createProducer(kafka, { idempotent: true, log: silent });
  await producer.connect();
}, 120_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await producer?.close();
  await kafka?.close();
  await slurm?.close();
}, 60_000);

async function pipeline() {
  const topics: Topics = await testTopics();
  const { redis, store, prefix, keys } = testStore();
  const ingest: TestIngest = await startIngest({ topics, groupId: uniqueId('group'), store });
  cleanups.push(async () => {
    await ingest.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });
  const totals = async (tenantId: string) => {
    const t = await store.accounting.tenantTotals(tenantId);
    return { gpuUs: t.gpu_us ?? 0, ops: t.ops ?? 0, duplicateUs: t['covered_gpu_us:duplicate'] ?? 0 };
  };
  /** A poller as a freshly started collector has it: its own metrics, nothing in memory. */
  const source = (tenants: Record<string, string>, produced: UsageEvent[] = [], accounting = false): { poller: SlurmSource; metrics: CollectorMetrics } => {
    const metrics = createCollectorMetrics(new Registry());
    const emit = createEmitter({ producer, topic: topics.telemetry, metrics, log: silent });
    const poller = createSlurmSource({
      client: createSlurmrestdClient({ url: slurm.url, apiVersion: 'v0.0.38', user: slurm.user, token: { value: slurm.token }, timeoutMs: 10_000, accounting }),
      marks: store.slurmMarks,
      mapping: SLURM,
      tenants: { namespaces: {}, accounts: tenants },
      emitJobs: true,
      maxIntervalMs: pack.limits.maxIntervalSeconds * 1000,
      minJobAgeMs: MIN_JOB_AGE_S * 1000,
      emit: async (s, events) => {
        await emit(s, events);
        produced.push(...events);
      },
      metrics,
      log: silent,
    });
    return { poller, metrics };
  };
  return { topics, redis, store, keys, totals, source };
}

const fieldsOf = (id: string) => slurm.showJob(id);
const isRunning = (f: Record<string, string>) => f.JobState === 'RUNNING';
const isEnded = (f: Record<string, string>) => !['RUNNING', 'SUSPENDED', 'PENDING', 'CONFIGURING', 'COMPLETING'].includes(f.JobState ?? '') && f.EndTime !== 'Unknown';
const startOf = (f: Record<string, string>) => Date.parse(`${f.StartTime}Z`);
const endOf = (f: Record<string, string>) => Date.parse(`${f.EndTime}Z`);
/** scontrol's RunTime ([D-]HH:MM:SS): the time the job ran, suspensions left out, in ms. */
function runTimeOf(f: Record<string, string>): number {
  const m = /^(?:(\d+)-)?(\d+):(\d\d):(\d\d)$/.exec(f.RunTime ?? '');
  if (!m) throw new Error(`unreadable RunTime ${f.RunTime}`);
  return (((Number(m[1] ?? 0) * 24 + Number(m[2])) * 60 + Number(m[3])) * 60 + Number(m[4])) * 1000;
}

async function untilState(id: string, test: (f: Record<string, string>) => boolean, what: string, timeoutMs = 60_000) {
  return waitFor(() => {
    const f = fieldsOf(id);
    return test(f) ? f : null;
  }, { timeoutMs, intervalMs: 250, what: `job ${id} ${what}` });
}

/** Polls at `Date.now()` and returns the poll's time as the poller uses it (whole seconds). */
async function pollNow(poller: SlurmSource): Promise<number> {
  const now = Date.now();
  expect(await poller.poll(now)).toBe(true);
  return Math.floor(now / 1000) * 1000;
}

const counter = async (metric: { get(): Promise<{ values: { value: number; labels: Partial<Record<string, string | number>> }[] }> }, labels: Record<string, string> = {}) =>
  (await metric.get()).values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether slurmctld still lists the job (it purges ended jobs older than MinJobAge). */
function listed(id: string): boolean {
  try {
    slurm.scontrol(['show', 'job', id]);
    return true;
  } catch {
    return false; // "Invalid job id specified": purged.
  }
}

// The tests run at once: each maps only its own accounts, so the others' jobs are skipped as unmapped.
describe.concurrent('Slurm poller', () => {
  it('counts jobs of 5 s, 45 s and minutes, a cancelled and a suspended one, and one that ended while the collector was down, per node to Slurm\'s own run time across restarts; a job that left the listing during a longer outage is counted as unrecovered', async () => {
    const { totals, source, redis, keys } = await pipeline();
    const names = ['long', 'j45', 'short', 'cancel', 'susp', 'down', 'lost'] as const;
    type Name = (typeof names)[number];
    const GPUS: Record<Name, number> = { long: 1, j45: 2, short: 1, cancel: 1, susp: 1, down: 1, lost: 1 };
    const tenants = Object.fromEntries(names.map((n) => [`acct-${n}`, `tenant-${n}`]));
    const produced: UsageEvent[] = [];
    const submit = (name: Name, seconds: number) => slurm.sbatch([`--gres=gpu:h100:${GPUS[name]}`, '-A', `acct-${name}`, '--wrap', `sleep ${seconds}`]);
    const ids = {} as Record<Name, string>;
    ids.long = submit('long', 600);
    ids.j45 = submit('j45', 45);
    ids.cancel = submit('cancel', 600);
    ids.susp = submit('susp', 30);
    ids.down = submit('down', 20);
    ids.lost = submit('lost', 70);
    cleanups.push(async () => Object.values(ids).forEach((id) => slurm.cancel(id)));
    for (const name of ['long', 'j45', 'cancel', 'susp', 'down', 'lost'] as const) await untilState(ids[name], isRunning, 'to run');
    const truth = {} as Record<Name, Record<string, string>>;

    // Collector A: one poll, then a 5-second job starts and ends before its next one.
    const a = source(tenants, produced);
    await pollNow(a.poller);
    ids.short = submit('short', 5);
    truth.short = await untilState(ids.short, isEnded, 'to end');
    await pollNow(a.poller);

    // The suspended job: suspended after a poll, seen suspended by a restarted collector (B).
    slurm.scontrol(['suspend', ids.susp]);
    await sleep(3_000);
    const b = source(tenants, produced);
    await pollNow(b.poller);
    expect(fieldsOf(ids.susp).JobState).toBe('SUSPENDED');

    // The collector is down: `down` ends, `susp` is resumed, `cancel` is cancelled. Then collector C.
    await sleep(3_000);
    slurm.scontrol(['resume', ids.susp]);
    truth.down = await untilState(ids.down, isEnded, 'to end');
    slurm.cancel(ids.cancel);
    truth.cancel = await untilState(ids.cancel, isEnded, 'to be cancelled');
    expect(truth.cancel.JobState).toBe('CANCELLED');
    const c = source(tenants, produced);
    await pollNow(c.poller);
    // C polls every 3 s until the 45-second job and the suspended one have ended and been polled.
    let lastPoll = 0;
    while (!isEnded(fieldsOf(ids.j45)) || !isEnded(fieldsOf(ids.susp))) {
      await sleep(3_000);
      lastPoll = await pollNow(c.poller);
    }
    truth.j45 = fieldsOf(ids.j45);
    truth.susp = fieldsOf(ids.susp);
    lastPoll = await pollNow(c.poller);

    // A longer outage: `lost` ends and leaves the listing (MinJobAge) before the next collector (D) polls.
    truth.lost = fieldsOf(ids.lost);
    expect(truth.lost.JobState, 'lost must still run when the outage begins').toBe('RUNNING');
    const lostCountedUntil = lastPoll;
    const ended = await untilState(ids.lost, isEnded, 'to end', 120_000);
    truth.lost = ended;
    await waitFor(() => !listed(ids.lost), { timeoutMs: 150_000, intervalMs: 1_000, what: 'the lost job to leave the listing' });
    const d = source(tenants, produced);
    const dPoll = await pollNow(d.poller);
    expect(await counter(d.metrics.slurmUnrecovered)).toBe(1);
    expect(await counter(d.metrics.slurmUnobservedSeconds)).toBe((dPoll - lastPoll - MIN_JOB_AGE_S * 1000) / 1000);

    // The long job: ended after more than two minutes, then one last poll.
    await waitFor(() => Date.now() - startOf(fieldsOf(ids.long)) > 130_000, { timeoutMs: 150_000, intervalMs: 1_000, what: 'the long job to run two minutes' });
    slurm.cancel(ids.long);
    truth.long = await untilState(ids.long, isEnded, 'to end');
    await pollNow(d.poller);
    expect(await counter(d.metrics.slurmUnrecovered)).toBe(1);

    // Slurm's own run times: wall-clock for the jobs never suspended, less for the suspended one.
    for (const name of names) if (name !== 'susp') expect(runTimeOf(truth[name]), name).toBe(endOf(truth[name]) - startOf(truth[name]));
    expect(endOf(truth.susp) - startOf(truth.susp) - runTimeOf(truth.susp), 'time suspended').toBeGreaterThanOrEqual(3_000);
    expect(runTimeOf(truth.short)).toBeLessThanOrEqual(10_000);

    const expected = (name: Name) => (name === 'lost' ? GPUS.lost * 1000 * (lostCountedUntil - startOf(truth.lost)) : GPUS[name] * 1000 * runTimeOf(truth[name]));
    await waitFor(async () => {
      for (const name of names) if ((await totals(`tenant-${name}`)).gpuUs !== expected(name)) return false;
      return true;
    }, { timeoutMs: 30_000, what: 'every job counted' }).catch(() => undefined);
    for (const name of names) {
      const got = (await totals(`tenant-${name}`)).gpuUs;
      silent.info({ job: name, gpus: GPUS[name], countedGpuUs: got, slurmGpuUs: expected(name), runTime: truth[name].RunTime }, 'Slurm job counted');
      // Within one second × GPUs of Slurm's record (the poller's arithmetic is in whole seconds, as Slurm's).
      expect(Math.abs(got - expected(name)), `${name}: ${got} GPU-µs, Slurm says ${expected(name)}`).toBeLessThanOrEqual(GPUS[name] * 1e6);
    }
    // The lost job: counted to the last poll that saw it, its end (after the mark) named by the metric.
    expect(endOf(truth.lost)).toBeGreaterThan(lostCountedUntil);

    // Every report is per node, on the job's one node, with its GPUs there; ids name the node.
    expect(produced.length).toBeGreaterThan(0);
    for (const e of produced) {
      expect(e.data.node).toBe(NODE);
      expect(e.id).toMatch(new RegExp(`^slurm-a/${e.data.jobId}/${NODE}/running/`));
      const name = names.find((n) => ids[n] === e.data.jobId)!;
      expect(e.data.accelerator.count).toBe(GPUS[name]);
    }
    // The ended jobs' marks are final while listed; the lost one's is gone.
    const marks = await redis.hgetall(keys.collector.slurmMarks('slurm-a'));
    expect(marks[ids.lost]).toBeUndefined();
    expect(JSON.parse(marks[ids.long]!)).toMatchObject({ t: endOf(truth.long), d: 1 });
  }, 300_000);

  it('resumes after a restart without loss or double count, reports again from the start with its marks lost, and meets the job\'s jobcomp record (with its node list) in the same slice', async () => {
    const { keys, redis, totals, topics, source } = await pipeline();
    const id = slurm.sbatch(['--gres=gpu:h100:4', '-A', 'tenant-a', '--wrap', 'sleep 600']);
    cleanups.push(async () => slurm.cancel(id));
    const startMs = startOf(await untilState(id, isRunning, 'to run'));
    const GPUS = 4;
    const util = pack.utilization.default; // no tensor activity from slurmrestd: the policy's default
    const rate = (GPUS * H100_BF16 * util) / 1000; // operations per millisecond of the job
    const tenants = { 'tenant-a': 'tenant-a' };
    const nextSecond = async () => {
      await sleep(1_100);
      return Math.floor(Date.now() / 1000) * 1000;
    };
    const expectCounted = async (untilMs: number, teraOps: number) => {
      const gpuUs = GPUS * 1000 * (untilMs - startMs);
      await waitFor(async () => (await totals('tenant-a')).gpuUs === gpuUs, { timeoutMs: 30_000, what: `GPU-seconds up to ${new Date(untilMs).toISOString()}` });
      const got = await totals('tenant-a');
      expect({ gpuUs: got.gpuUs, ops: got.ops }).toEqual({ gpuUs, ops: teraOps });
    };

    // One poll counts the job from its start to the poll.
    const { poller } = source(tenants);
    const t1 = await nextSecond();
    expect(await poller.poll(t1)).toBe(true);
    let ops = tera(t1 - startMs, rate * (t1 - startMs));
    await expectCounted(t1, ops);

    const t2 = await nextSecond();
    await poller.poll(t2);
    ops += tera(t2 - t1, rate * (t2 - t1));
    await expectCounted(t2, ops);

    // A restarted poller resumes at the mark it left in Redis: it reports exactly t2 → t3.
    const restarted = source(tenants);
    const t3 = await nextSecond();
    await restarted.poller.poll(t3);
    ops += tera(t3 - t2, rate * (t3 - t2));
    await expectCounted(t3, ops);
    expect(await counter(restarted.metrics.gpuSeconds, { source: 'slurm' })).toBe((GPUS * (t3 - t2)) / 1000);

    // With its marks lost, a poller reports again from the job's start; covered time counts it once.
    await redis.del(keys.collector.slurmMarks('slurm-a'));
    const t4 = await nextSecond();
    await source(tenants).poller.poll(t4);
    ops += tera(t4 - t3, rate * (t4 - startMs), t4 - startMs);
    await expectCounted(t4, ops);

    // The job ends; its jobcomp record (per node: it names the job's node) adds only the time after the last poll.
    await nextSecond();
    slurm.cancel(id);
    const ended = await untilState(id, isEnded, 'to end');
    const endMs = endOf(ended);
    expect(endMs).toBeGreaterThan(t4);
    const record = {
      jobid: Number(id), account: 'tenant-a', cluster: 'slurm-a', partition: 'gpu', nodes: ended.NodeList,
      '@start': new Date(startMs).toISOString(), '@end': new Date(endMs).toISOString(), elapsed: (endMs - startMs) / 1000,
      tres_alloc: `cpu=1,node=1,billing=1,gres/gpu=${GPUS}`, state: ended.JobState,
    };
    expect(record.nodes).toBe(NODE);
    await producer.send(topics.slurm, [{ key: 'tenant-a', value: JSON.stringify(record) }]);
    ops += tera(endMs - t4, rate * (endMs - startMs), endMs - startMs);
    await expectCounted(endMs, ops);

    // The poller then reports t4 → end, which the jobcomp record covered already: counted once, its mark final.
    const before = await totals('tenant-a');
    await poller.poll(await nextSecond());
    await waitFor(async () => (await totals('tenant-a')).duplicateUs === before.duplicateUs + GPUS * 1000 * (endMs - t4), { timeoutMs: 30_000, what: 'the poller\'s last stretch seen as covered' });
    expect((await totals('tenant-a')).gpuUs).toBe(before.gpuUs);
    expect(JSON.parse((await redis.hget(keys.collector.slurmMarks('slurm-a'), id))!)).toMatchObject({ t: endMs, d: 1 });
  }, 120_000);

  it('after an outage longer than MinJobAge reads the jobs that ended unlisted from slurmdbd: one with a mark from its mark to its end, one never seen whole', async () => {
    const { totals, source, redis, keys } = await pipeline();
    const GPUS = { marked: 1, unseen: 2 };
    const tenants = { 'acct-db-marked': 'tenant-db-marked', 'acct-db-unseen': 'tenant-db-unseen' };
    const produced: UsageEvent[] = [];
    const marked = slurm.sbatch([`--gres=gpu:h100:${GPUS.marked}`, '-A', 'acct-db-marked', '--wrap', 'sleep 12']);
    cleanups.push(async () => slurm.cancel(marked));
    const markedStart = startOf(await untilState(marked, isRunning, 'to run'));
    await sleep(2_000);
    const before = source(tenants, produced, true);
    const markedUntil = await pollNow(before.poller);
    expect(markedUntil).toBeGreaterThan(markedStart);

    // The collector is down: the job ends, another starts and ends, and both leave the listing.
    const unseen = slurm.sbatch([`--gres=gpu:h100:${GPUS.unseen}`, '-A', 'acct-db-unseen', '--wrap', 'sleep 5']);
    const truth = { marked: await untilState(marked, isEnded, 'to end'), unseen: await untilState(unseen, isEnded, 'to end') };
    await waitFor(() => !listed(marked) && !listed(unseen), { timeoutMs: 150_000, intervalMs: 1_000, what: 'both jobs to leave the listing' });
    // slurmdbd's own record (sacct) agrees with slurmctld's.
    for (const [name, id] of [['marked', marked], ['unseen', unseen]] as const) {
      const [start, end, elapsed] = slurm.sacct(['-n', '-P', '-X', '-j', id, '-o', 'Start,End,ElapsedRaw']).trim().split('|');
      expect([Date.parse(`${start}Z`), Date.parse(`${end}Z`), Number(elapsed) * 1000], name).toEqual([startOf(truth[name]), endOf(truth[name]), runTimeOf(truth[name])]);
    }

    const after = source(tenants, produced, true);
    await pollNow(after.poller);
    expect(await counter(after.metrics.slurmRecovered)).toBeGreaterThanOrEqual(2);
    expect(await counter(after.metrics.slurmUnrecovered)).toBe(0);
    expect(await counter(after.metrics.slurmUnobservedSeconds)).toBe(0);
    expect(await counter(after.metrics.polls, { result: 'accounting_ok' })).toBe(1);

    const expected = { marked: GPUS.marked * 1000 * runTimeOf(truth.marked), unseen: GPUS.unseen * 1000 * runTimeOf(truth.unseen) };
    await waitFor(async () => (await totals('tenant-db-marked')).gpuUs === expected.marked && (await totals('tenant-db-unseen')).gpuUs === expected.unseen, { timeoutMs: 30_000, what: 'both jobs counted' }).catch(() => undefined);
    for (const name of ['marked', 'unseen'] as const) {
      const got = (await totals(`tenant-db-${name}`)).gpuUs;
      silent.info({ job: name, gpus: GPUS[name], countedGpuUs: got, slurmGpuUs: expected[name] }, 'Slurm job counted after slurmdbd recovery');
      expect(Math.abs(got - expected[name]), `${name}: ${got} GPU-µs, Slurm says ${expected[name]}`).toBeLessThanOrEqual(GPUS[name] * 1e6);
    }
    // The marked job's last stretch came from slurmdbd: from the mark to its end, on its node.
    const last = produced.filter((e) => e.data.jobId === marked).at(-1)!;
    expect([last.data.node, Date.parse(last.data.interval.start), Date.parse(last.data.interval.end)]).toEqual([NODE, markedUntil, endOf(truth.marked)]);
    expect(produced.filter((e) => e.data.jobId === unseen).map((e) => [e.data.node, e.data.accelerator.count])).toEqual([[NODE, GPUS.unseen]]);
    // Reported: its mark is final, then dropped by the next poll, which reads nothing from slurmdbd.
    expect(JSON.parse((await redis.hget(keys.collector.slurmMarks('slurm-a'), marked))!)).toMatchObject({ t: endOf(truth.marked), d: 1 });
    await pollNow(after.poller);
    expect(await redis.hget(keys.collector.slurmMarks('slurm-a'), marked)).toBeNull();
    expect(await counter(after.metrics.polls, { result: 'accounting_ok' })).toBe(1);
    expect(await counter(after.metrics.slurmUnrecovered)).toBe(0);
  }, 240_000);

  it('counts a requeued job\'s run to its last poll and names the rest: slurmrestd keeps no end for a requeued run', async () => {
    const { totals, source, redis, keys } = await pipeline();
    const id = slurm.sbatch(['--gres=gpu:h100:1', '-A', 'acct-requeue', '--wrap', 'sleep 600']);
    cleanups.push(async () => slurm.cancel(id));
    const startMs = startOf(await untilState(id, isRunning, 'to run'));
    await sleep(2_000);
    const { poller, metrics } = source({ 'acct-requeue': 'tenant-requeue' });
    const polledUntil = await pollNow(poller);
    await sleep(1_000);
    slurm.scontrol(['requeue', id]);
    // Polled while it passes through COMPLETING (its start reset, its end at the time limit) and once pending.
    await pollNow(poller);
    await untilState(id, (f) => f.JobState === 'PENDING', 'to be pending again');
    await pollNow(poller);
    expect(await counter(metrics.slurmUnrecovered)).toBe(1);
    expect(await redis.hget(keys.collector.slurmMarks('slurm-a'), id)).toBeNull();
    // Counted from its start to the poll before the requeue, nothing more (every event was sent before
    // the counter is read, so the counter is the whole of what was reported).
    await waitFor(async () => (await totals('tenant-requeue')).gpuUs === 1000 * (polledUntil - startMs), { timeoutMs: 30_000, what: 'the first run counted to its last poll' });
    expect(await counter(metrics.gpuSeconds, { source: 'slurm' })).toBe((polledUntil - startMs) / 1000);
  }, 120_000);
});
