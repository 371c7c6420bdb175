// `pnpm bench:memory [--days N] [--tenants N] [--lateness-days N] [--keep]`
// Replays a long stretch of per-node telemetry straight into the books (the apply script on the
// machine's Redis, no Kafka) and prints, every few simulated days, the memory of the run's keys
// (MEMORY USAGE summed over them, so other clients of the same Redis do not blur it) and the number
// of usage slices whose covered time is kept. Jobs start and end all the time, so the active slices
// stay constant; the covered state must grow for the lateness bound and then stay flat.
// Prints figures; asserts nothing.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { ensureInfra } from '@flopwatch/local';
import { createKeys, createStore, purgePrefix, type Keys, type UsageRecord } from '@flopwatch/store';

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '120' },
    tenants: { type: 'string', default: '200' },
    'lateness-days': { type: 'string', default: '45' },
    keep: { type: 'boolean', default: false },
  },
});
const DAYS = Number(args.days);
const TENANTS = Number(args.tenants);
const LATENESS_DAYS = Number(args['lateness-days']);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REPORT_MS = HOUR; // one report per node and hour: the memory depends on slices, not on report length
const JOBS_PER_TENANT = 2; // running at any time
const NODES = 4;
const JOB_DAYS = 3; // each job runs three days, then the next one starts
const say = (line: string) => console.log(`[bench:memory] ${line}`);

async function keyMemory(redis: Redis, prefix: string): Promise<{ bytes: number; keys: number }> {
  let cursor = '0';
  let bytes = 0;
  let keys = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    const sizes = await Promise.all(batch.map((k) => redis.memory('USAGE', k)));
    for (const s of sizes) bytes += Number(s ?? 0);
    keys += batch.length;
  } while (cursor !== '0');
  return { bytes, keys };
}

async function coveredSlices(redis: Redis, keys: Keys): Promise<number> {
  const counts = await Promise.all(Array.from({ length: TENANTS }, (_, t) => redis.hlen(keys.tenant.cover(`tenant-${t}`))));
  return counts.reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  const infra = await ensureInfra(process.env, (l) => say(l));
  const redis = new Redis(infra.redisUrl, { enableAutoPipelining: true });
  const prefix = `bench-memory-${Date.now().toString(36)}:`;
  const store = createStore({ redis, prefix, maxLatenessMs: LATENESS_DAYS * DAY, maxIntervalMs: HOUR });
  const T0 = Date.UTC(2026, 0, 1);
  const activeSlices = TENANTS * JOBS_PER_TENANT * NODES;
  say(`${DAYS} days of hourly per-node reports: ${TENANTS} tenants × ${JOBS_PER_TENANT} running jobs × ${NODES} nodes = ${activeSlices} active slices; jobs last ${JOB_DAYS} days; lateness bound ${LATENESS_DAYS} days`);
  console.log('');
  console.log('  day   reports     covered slices kept   memory of the books   per 1,000 active slices');
  let reports = 0;
  const started = performance.now();
  for (let hour = 0; hour < DAYS * 24; hour++) {
    const startMs = T0 + hour * HOUR;
    const batch: UsageRecord[] = [];
    for (let t = 0; t < TENANTS; t++) {
      for (let j = 0; j < JOBS_PER_TENANT; j++) {
        // Staggered so that jobs end on different days; the generation counter names the job.
        const generation = Math.floor((hour + (t * 7 + j * 31) % (JOB_DAYS * 24)) / (JOB_DAYS * 24));
        for (let n = 0; n < NODES; n++) {
          batch.push({
            offset: String(reports++), tenantId: `tenant-${t}`, jobKey: `c/t${t}-j${j}-g${generation}`, node: `node-${n}`,
            startMs, endMs: startMs + REPORT_MS, teraOpsPerMs: 3.1656, upperTeraOpsPerMs: 7.9152, milliGpus: 8000,
            lineageId: `tenant-${t}/model`, country: 'US', tier: 1, acceleratorId: 'nvidia-h100-sxm5-80gb', controlledTier1: true, h100e: 8,
          });
        }
      }
    }
    await store.accounting.applyBatch(batch);
    const day = (hour + 1) / 24;
    if ((hour + 1) % 24 === 0 && (day % 5 === 0 || day === 1)) {
      const { bytes } = await keyMemory(redis, prefix);
      const kept = await coveredSlices(redis, createKeys(prefix));
      console.log(`  ${String(day).padStart(3)}   ${String(reports).padStart(9)}   ${String(kept).padStart(19)}   ${(bytes / 1048576).toFixed(2).padStart(15)} MiB   ${((bytes / activeSlices) * 1000 / 1048576).toFixed(2).padStart(12)} MiB`);
    }
  }
  console.log('');
  say(`${reports} reports applied in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (!args.keep) await purgePrefix(redis, prefix);
  redis.disconnect();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
