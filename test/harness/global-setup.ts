// vitest globalSetup: makes Kafka and Redis answer once per run and hands their addresses to every
// test worker. Order: KAFKA_BROKERS / REDIS_URL when set → testcontainers when a container runtime
// answers → the project's own launcher (deploy/local), the same code `pnpm infra:up` runs.
import type { TestProject } from 'vitest/node';
import { silenceKafkajsNegativeTimeoutWarning } from '@flopwatch/kafka';
import { ensureInfra } from '@flopwatch/local';
import { containerRuntimeAvailable, startContainers } from './containers.js';
import { buildWorkspace } from '../../scripts/build.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const log = (line: string) => console.log(`[test-infra] ${line}`);
  // The launcher's readiness probe is a kafkajs client (kafkajs#1751 warns under Node 24).
  silenceKafkajsNegativeTimeoutWarning();
  // Services a test starts as a process run from their compiled files, as in production.
  await buildWorkspace({ log });
  let teardown: (() => Promise<void>) | undefined;
  let infra: { kafkaBrokers: string[]; redisUrl: string };
  if (process.env.KAFKA_BROKERS || process.env.REDIS_URL || process.env.FLOPWATCH_NO_CONTAINERS || !(await containerRuntimeAvailable())) {
    infra = await ensureInfra(process.env, log);
  } else {
    log('starting Kafka and Redis with testcontainers …');
    const c = await startContainers();
    infra = c;
    teardown = c.stop;
  }
  log(`Kafka ${infra.kafkaBrokers.join(',')}, Redis ${infra.redisUrl}`);
  project.provide('kafkaBrokers', infra.kafkaBrokers);
  project.provide('redisUrl', infra.redisUrl);
  // Child processes a test spawns (services under test) find the servers the same way.
  process.env.KAFKA_BROKERS = infra.kafkaBrokers.join(',');
  process.env.REDIS_URL = infra.redisUrl;
  return teardown;
}
