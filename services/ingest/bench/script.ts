// `pnpm bench:script [--tenants N] [--minutes N] [--minutes-per-call 1,4,16] [--measured]`: the accounting script alone, called
// through the store with ready-made records (no Kafka, no decoding). Each tenant has 3 jobs of 1-8
// nodes; every node reports one minute at a time. Prints Redis's own time per script call and per
// report (INFO commandstats), for a few sizes of call, so the fixed cost of a call and the cost of
// each report can be told apart. Uses REDIS_URL, else starts what it needs like the other benchmarks
// (deploy/local). Prints figures; asserts nothing.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { ensureInfra } from '@flopwatch/local';
import { createStore, purgePrefix, type UsageRecord } from '@flopwatch/store';

const { values: args } = parseArgs({
  options: { tenants: { type: 'string', default: '300' }, minutes: { type: 'string', default: '20' }, 'minutes-per-call': { type: 'string', default: '1,4,16' }, measured: { type: 'boolean', default: false } },
});
const TENANTS = Number(args.tenants);
const MINUTES = Number(args.minutes);
let redis: Redis;
const T0 = Date.UTC(2026, 9, 1);
const MODELS = ['nvidia-h100-sxm5-80gb', 'nvidia-a100-sxm4-80gb', 'amd-mi300x'];

function recordsOf(tenant: number, minute: number): UsageRecord[] {
  const out: UsageRecord[] = [];
  for (let job = 0; job < 3; job++) {
    const nodes = 1 + ((tenant * 3 + job) % 8);
    for (let n = 0; n < nodes; n++) {
      out.push({
        offset: '0', tenantId: `t${tenant}`, jobKey: `c1/job-${job}`, node: `gpu-${job}-${n}`,
        startMs: T0 + minute * 60_000, endMs: T0 + (minute + 1) * 60_000,
        teraOpsPerMs: 8 * 989.4 * 0.4, upperTeraOpsPerMs: 8 * 989.4, milliGpus: 8000,
        lineageId: `t${tenant}/model-${job % 2}`, country: 'US', tier: 1,
        acceleratorId: MODELS[(tenant + job) % MODELS.length]!, controlledTier1: true, controlled: true, h100e: 8,
        // --measured: DCGM's reports (measured time); otherwise the Slurm poller's (allocated).
        ...(args.measured ? { measured: true } : {}),
      } as UsageRecord);
    }
  }
  return out;
}

async function evalsha(): Promise<{ calls: number; usec: number }> {
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await redis.info('commandstats'));
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

async function main(): Promise<void> {
  const infra = await ensureInfra(process.env, (line) => console.log(`[bench] ${line}`));
  redis = new Redis(infra.redisUrl);
  for (const minutesPerCall of args['minutes-per-call'].split(',').map(Number)) {
    const prefix = `bench-script-${Date.now().toString(36)}:`;
    const store = createStore({ redis, prefix });
    let reports = 0;
    const before = await evalsha();
    const wall = performance.now();
    for (let m = 0; m < MINUTES; m += minutesPerCall) {
      const batch: UsageRecord[] = [];
      for (let t = 0; t < TENANTS; t++) for (let k = 0; k < minutesPerCall; k++) batch.push(...recordsOf(t, m + k));
      reports += batch.length;
      await store.accounting.applyBatch(batch);
    }
    const after = await evalsha();
    const calls = after.calls - before.calls;
    const usec = after.usec - before.usec;
    console.log(`${minutesPerCall} minute(s) per call: ${calls} calls, ${(reports / calls).toFixed(1)} reports/call, ${(usec / calls).toFixed(0)} µs/call, ${(usec / reports).toFixed(2)} µs/report in Redis; ${Math.round(reports / ((performance.now() - wall) / 1000))} reports/s wall`);
    await purgePrefix(redis, prefix);
  }
  redis.disconnect();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
