// `pnpm infra:up | infra:down | infra:status`: a real Kafka and Redis on a machine without Docker.
// package.json starts it with `--disable-warning=TimeoutNegativeWarning`: its kafkajs probes trip
// kafkajs#1751 under Node 24, which the services avoid through @flopwatch/kafka (node-warnings.ts).
import { InfraError } from './errors.js';
import { ensureInfra } from './infra.js';
import { kafkaStatus, stopKafka } from './kafka.js';
import { DEFAULT_REDIS_URL, redisStatus, stopRedis } from './redis.js';

const log = (line: string) => console.log(`[infra] ${line}`);

async function status(): Promise<void> {
  const k = await kafkaStatus();
  const r = await redisStatus({ url: process.env.REDIS_URL ?? DEFAULT_REDIS_URL });
  log(`kafka  ${k.brokers}  ${k.answering ? 'up' : 'down'}${k.pid ? `  (started by flopwatch, pid ${k.pid})` : ''}  log: ${k.logFile}`);
  log(`redis  ${r.url}  ${r.answering ? 'up' : 'down'}${r.pid ? `  (started by flopwatch, pid ${r.pid})` : ''}`);
}

async function main(command: string | undefined): Promise<void> {
  switch (command) {
    case 'up': {
      const infra = await ensureInfra(process.env, log);
      log(`ready: KAFKA_BROKERS=${infra.kafkaBrokers.join(',')} REDIS_URL=${infra.redisUrl}`);
      return;
    }
    case 'down': {
      const k = await stopKafka({ log });
      const r = await stopRedis({ log });
      log(k || r ? 'stopped what flopwatch started' : 'nothing started by flopwatch is running');
      return;
    }
    case 'status':
      return status();
    default:
      console.error('usage: cli.ts up|down|status');
      process.exitCode = 2;
  }
}

main(process.argv[2]).catch((err: unknown) => {
  if (err instanceof InfraError) console.error(`[infra] ${err.message}`);
  else console.error(err);
  process.exit(1);
});
