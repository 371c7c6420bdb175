import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { InfraError } from './errors.js';
import { commandWorks, livePid, sleep, stopPid } from './process.js';
import { cacheDir, stateDir } from './paths.js';

export const KAFKA_VERSION = '3.9.1';
const SLF4J_VERSION = '1.7.36';
const MAIN_CLASS = 'kafka.Kafka';

export interface KafkaOptions {
  /** Broker port on 127.0.0.1. */
  port?: number;
  /** KRaft controller port on 127.0.0.1. */
  controllerPort?: number;
  /** JVM heap, e.g. `768m`; sized for a 2-core machine by default. */
  heap?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

interface Resolved {
  port: number;
  controllerPort: number;
  heap: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

const resolve = (o: KafkaOptions): Resolved => ({
  port: o.port ?? 9092,
  controllerPort: o.controllerPort ?? 9093,
  heap: o.heap ?? '768m',
  env: o.env ?? process.env,
  log: o.log ?? (() => {}),
});

export const kafkaPaths = (env: NodeJS.ProcessEnv = process.env) => {
  const state = join(stateDir(env), 'kafka');
  return {
    libs: join(cacheDir(env), `kafka-${KAFKA_VERSION}`, 'libs'),
    state,
    data: join(state, 'data'),
    config: join(state, 'server.properties'),
    log4j: join(state, 'log4j.properties'),
    logFile: join(state, 'kafka.log'),
    pidFile: join(state, 'kafka.pid'),
  };
};

/** True when a broker on 127.0.0.1:port answers a metadata request. */
export async function kafkaAnswers(port: number, timeoutMs = 3000): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'flopwatch-infra-probe',
    brokers: [`127.0.0.1:${port}`],
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

function requirePrerequisites(): void {
  const missing: string[] = [];
  if (!commandWorks('java', ['-version'])) missing.push('Java 17+ (e.g. `apt-get install openjdk-17-jre-headless`)');
  if (!commandWorks('mvn', ['-v'])) missing.push('Apache Maven (e.g. `apt-get install maven`)');
  if (missing.length > 0) {
    throw new InfraError(
      `cannot start a local Kafka: missing ${missing.join(' and ')}. ` +
        'Install them, or run Kafka with Docker instead (`docker compose up -d kafka redis`) and set KAFKA_BROKERS=127.0.0.1:9092.',
    );
  }
}

/** Resolves Apache Kafka and a logging binding from Maven Central, once, into the cache directory. */
export function resolveKafkaJars(options: KafkaOptions = {}): string {
  const { env, log } = resolve(options);
  const { libs } = kafkaPaths(env);
  const marker = join(libs, '.complete');
  if (existsSync(marker)) return libs;
  requirePrerequisites();
  const work = join(libs, '..');
  mkdirSync(libs, { recursive: true });
  writeFileSync(
    join(work, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.flopwatch.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>${SLF4J_VERSION}</version></dependency>
  </dependencies>
</project>
`,
  );
  log(`resolving Apache Kafka ${KAFKA_VERSION} from Maven Central into ${libs} (once) …`);
  const r = spawnSync(
    'mvn',
    ['-B', '-q', '-f', join(work, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0) throw new InfraError(`Maven could not resolve org.apache.kafka:kafka_2.13:${KAFKA_VERSION} (exit ${r.status}); see the output above.`);
  if (!readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'))) throw new InfraError(`Maven finished but ${libs} holds no Kafka jar.`);
  writeFileSync(marker, new Date().toISOString());
  return libs;
}

function writeConfig(r: Resolved): void {
  const p = kafkaPaths(r.env);
  mkdirSync(p.data, { recursive: true });
  writeFileSync(
    p.config,
    [
      '# Written by deploy/local: a single-node KRaft broker + controller for development and tests.',
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${r.controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${r.port},CONTROLLER://127.0.0.1:${r.controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${r.port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${p.data}`,
      'num.partitions=3',
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=4',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=4',
      'log.retention.hours=168',
      'message.max.bytes=2097152',
      '',
    ].join('\n'),
  );
  writeFileSync(
    p.log4j,
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka=INFO',
      'log4j.logger.org.apache.kafka=WARN',
      'log4j.logger.state.change.logger=WARN',
      '',
    ].join('\n'),
  );
}

function java(r: Resolved, libs: string, mainClass: string, args: string[]): string[] {
  const p = kafkaPaths(r.env);
  return [
    `-Xms256m`,
    `-Xmx${r.heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:ActiveProcessorCount=2',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${p.log4j}`,
    '-cp',
    `${libs}/*`,
    mainClass,
    ...args,
  ];
}

function formatStorage(r: Resolved, libs: string): void {
  const p = kafkaPaths(r.env);
  if (existsSync(join(p.data, 'meta.properties'))) return;
  // Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
  const clusterId = randomBytes(16).toString('base64url');
  const res = spawnSync('java', java(r, libs, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', p.config, '--ignore-formatted']), {
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new InfraError(`formatting KRaft storage in ${p.data} failed:\n${res.stdout}${res.stderr}`);
}

export interface KafkaStatus {
  brokers: string;
  answering: boolean;
  /** pid of the broker this launcher started, when it is running */
  pid?: number;
  logFile: string;
}

export async function kafkaStatus(options: KafkaOptions = {}): Promise<KafkaStatus> {
  const r = resolve(options);
  const p = kafkaPaths(r.env);
  const pid = livePid(p.pidFile, MAIN_CLASS);
  return { brokers: `127.0.0.1:${r.port}`, answering: await kafkaAnswers(r.port), ...(pid ? { pid } : {}), logFile: p.logFile };
}

/**
 * Starts a single-node KRaft broker on 127.0.0.1 unless one already answers there, and waits until it
 * answers a metadata request. Idempotent: a running broker is reused.
 */
export async function startKafka(options: KafkaOptions = {}): Promise<KafkaStatus> {
  const r = resolve(options);
  const p = kafkaPaths(r.env);
  if (await kafkaAnswers(r.port)) {
    const status = await kafkaStatus(options);
    r.log(`Kafka already answers on ${status.brokers}${status.pid ? ` (pid ${status.pid}, started by this launcher)` : ''}; reusing it`);
    return status;
  }
  const stale = livePid(p.pidFile, MAIN_CLASS);
  if (stale) await stopPid(stale, p.pidFile, 30_000);
  const libs = resolveKafkaJars(options);
  writeConfig(r);
  formatStorage(r, libs);
  const out = openSync(p.logFile, 'a');
  const child = spawn('java', java(r, libs, MAIN_CLASS, [p.config]), { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  if (child.pid === undefined) throw new InfraError('could not spawn java for the Kafka broker');
  writeFileSync(p.pidFile, String(child.pid));
  child.unref();
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  r.log(`starting Kafka ${KAFKA_VERSION} (KRaft, pid ${child.pid}) on 127.0.0.1:${r.port}; log: ${p.logFile}`);
  const deadline = Date.now() + 120_000;
  let dots = 0;
  while (Date.now() < deadline) {
    if (exited !== null) throw new InfraError(`the Kafka broker exited with code ${exited} while starting; see ${p.logFile}`);
    if (await kafkaAnswers(r.port, 2000)) {
      r.log(`Kafka is ready on 127.0.0.1:${r.port}`);
      return { brokers: `127.0.0.1:${r.port}`, answering: true, pid: child.pid, logFile: p.logFile };
    }
    if (++dots % 5 === 0) r.log(`  … waiting for the broker to answer (${Math.round((deadline - Date.now()) / 1000)} s left)`);
    await sleep(1000);
  }
  await stopPid(child.pid, p.pidFile, 10_000);
  throw new InfraError(`the Kafka broker did not answer on 127.0.0.1:${r.port} within 120 s; see ${p.logFile}`);
}

/** Stops the broker this launcher started (by its pid file); leaves any other broker alone. */
export async function stopKafka(options: KafkaOptions = {}): Promise<boolean> {
  const r = resolve(options);
  const p = kafkaPaths(r.env);
  const pid = livePid(p.pidFile, MAIN_CLASS);
  if (!pid) return false;
  r.log(`stopping Kafka (pid ${pid}) …`);
  await stopPid(pid, p.pidFile, 30_000);
  return true;
}
