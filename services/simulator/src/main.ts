// Composition root of the simulator CLI:
//   simulator run <scenario|file.yaml>... [--compression N | --minutes M | --fast]
//   simulator load --rate <events/s> --seconds <s> [--tenants N]
//   simulator validate <scenario|file.yaml>...
import { parseArgs } from 'node:util';
import { createKafkaClient, createProducer, ensureTopics } from '@flopwatch/kafka';
import { createLogger, exitOnConfigError, kafkaSecurity, loadConfig, redactConfig, redisSecurity } from '@flopwatch/runtime';
import { connectRedis, createStore, type RedisClient } from '@flopwatch/store';
import { simulatorConfigSchema } from './config.js';
import { runLoad } from './load-mode.js';
import { apiRegistrar, storeRegistrar, type Registrar } from './registrar.js';
import { loadScenario, ScenarioError } from './scenario/load.js';
import { planScenario } from './scenario/plan.js';
import { runScenarios } from './scenario/run.js';

const { positionals, values: args } = parseArgs({
  allowPositionals: true,
  options: {
    compression: { type: 'string' },
    minutes: { type: 'string' },
    fast: { type: 'boolean', default: false },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '30' },
    tenants: { type: 'string', default: '200' },
  },
});
const [command = 'run', ...names] = positionals;
const config = exitOnConfigError(() => loadConfig(simulatorConfigSchema, process.env));
const security = exitOnConfigError(() => ({ kafka: kafkaSecurity(config), redis: redisSecurity(config) }));
const log = createLogger({ service: 'simulator', level: config.LOG_LEVEL });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());

try {
  if (command === 'validate') {
    for (const name of names) {
      const plan = planScenario(loadScenario(name), new Date());
      console.log(`${name}: valid — ${plan.tenants.length} tenants, ${plan.jobs.length} jobs, ${fmt(plan.eventCount)} events over ${fmt((plan.timeline.endMs - plan.timeline.startMs) / 86_400_000)} days`);
    }
  } else if (command === 'run' || command === 'load') {
    log.info({ config: redactConfig(config) }, 'starting');
    const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, logger: log, security: security.kafka });
    await ensureTopics(kafka, [{ topic: config.TELEMETRY_TOPIC, partitions: config.TOPIC_PARTITIONS }]);
    const producer = createProducer(kafka, { idempotent: true, log });
    let redis: RedisClient | undefined;
    try {
      await producer.connect();
      if (command === 'load') {
        const rate = Number(args.rate);
        console.log(`load: ${fmt(rate)} events/s for ${args.seconds} s → ${config.TELEMETRY_TOPIC}`);
        const result = await runLoad({
          producer, topic: config.TELEMETRY_TOPIC, rate, seconds: Number(args.seconds), tenants: Number(args.tenants), signal: controller.signal,
          onProgress: throttle((p) => console.log(`sent ${fmt(p.sent)} (${fmt(p.eventsPerSecond)} events/s)`)),
        });
        console.log(`done: ${fmt(result.sent)} events in ${(result.elapsedMs / 1000).toFixed(1)} s = ${fmt(result.eventsPerSecond)} events/s (target ${fmt(rate)})`);
      } else {
        const now = new Date();
        const plans = (names.length > 0 ? names : ['loophole', 'background']).map((n) => planScenario(loadScenario(n), now));
        const span = Math.max(...plans.map((p) => p.timeline.endMs)) - Math.min(...plans.map((p) => p.timeline.startMs));
        const compression = args.fast ? Infinity : args.minutes ? span / (Number(args.minutes) * 60_000) : args.compression ? Number(args.compression) : undefined;
        let registrar: Registrar;
        if (config.FLOPWATCH_API_URL && config.FLOPWATCH_API_KEY) {
          registrar = apiRegistrar({ url: config.FLOPWATCH_API_URL, apiKey: config.FLOPWATCH_API_KEY });
        } else {
          redis = connectRedis({ url: config.REDIS_URL, name: 'flopwatch-simulator', security: security.redis });
          registrar = storeRegistrar(createStore({ redis, prefix: config.REDIS_PREFIX }));
        }
        for (const p of plans) console.log(`${p.scenario.name}: ${p.tenants.length} tenants, ${p.lineages.length} lineages, ${p.jobs.length} jobs, ${fmt(p.eventCount)} events`);
        const result = await runScenarios({
          plans, registrar, producer, topic: config.TELEMETRY_TOPIC, ...(compression === undefined ? {} : { compression }), signal: controller.signal,
          onRegistered: (c) => console.log(`registered ${c.tenants} tenants and ${c.lineages} lineages via ${c.via}`),
          onProgress: throttle((p) => console.log(`simulated ${new Date(p.simulatedAt).toISOString().slice(0, 16)}Z  sent ${fmt(p.sent)}/${fmt(p.total)} (${fmt((100 * p.sent) / p.total)} %)`)),
        });
        console.log(`done: ${fmt(result.sent)} events in ${(result.elapsedMs / 1000).toFixed(1)} s`);
      }
    } finally {
      await producer.close();
      await kafka.close();
      redis?.disconnect();
    }
  } else {
    console.error(`unknown command "${command}": use run, load or validate`);
    process.exitCode = 2;
  }
} catch (err) {
  if (err instanceof ScenarioError) console.error(err.message);
  else log.fatal({ err }, 'simulator failed');
  process.exitCode = 1;
}

function throttle<T>(fn: (v: T) => void, everyMs = 1000): (v: T) => void {
  let last = 0;
  return (v) => {
    if (Date.now() - last < everyMs) return;
    last = Date.now();
    fn(v);
  };
}
