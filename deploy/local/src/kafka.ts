import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { InfraError } from './errors.js';
import { commandWorks, livePid, sleep, stopPid } from './process.js';
import { cacheDir, stateDir } from './paths.js';

/** The Apache Kafka the launcher runs unless FLOPWATCH_KAFKA_VERSION names another. */
export const KAFKA_VERSION = '4.2.1';
/** The 3.x line still tested by `.ci/run` (FLOPWATCH_KAFKA_VERSION=3.9.1). */
export const KAFKA_3_VERSION = '3.9.1';
/** Versions `.ci/run` and CONTRIBUTING.md name as tested. */
export const TESTED_KAFKA_VERSIONS = [KAFKA_VERSION, KAFKA_3_VERSION] as const;
const MAIN_CLASS = 'kafka.Kafka';

/** A SASL_PLAINTEXT listener: PLAIN users live in the JAAS config, SCRAM credentials are written at format time. */
export interface KafkaSaslListener {
  /** Port of the SASL_PLAINTEXT listener on 127.0.0.1. */
  port: number;
  /** Each user can log in with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512. */
  users: { username: string; password: string }[];
  /**
   * Enforce ACLs (KRaft's StandardAuthorizer): the first user and the PLAINTEXT listener (ANONYMOUS)
   * are super users; a resource without ACLs stays open to everyone, one with ACLs only to those they allow.
   */
  acls?: boolean;
}

/** An SSL listener from PEM files (no keystore tooling needed). */
export interface KafkaTlsListener {
  port: number;
  /** PEM file holding the broker's unencrypted PKCS#8 private key followed by its certificate chain. */
  keystorePem: string;
  /** PEM file of the CA(s) the broker trusts for client certificates. */
  truststorePem: string;
  /** Require a client certificate (mutual TLS). */
  clientAuth?: boolean;
}

export interface KafkaOptions {
  /** Broker port on 127.0.0.1 (PLAINTEXT; also the inter-broker listener). */
  port?: number;
  /** KRaft controller port on 127.0.0.1. */
  controllerPort?: number;
  /** Apache Kafka version from Maven Central (default FLOPWATCH_KAFKA_VERSION, else KAFKA_VERSION). */
  version?: string;
  /** Adds a SASL_PLAINTEXT listener with these users. */
  sasl?: KafkaSaslListener;
  /** Adds an SSL listener. */
  tls?: KafkaTlsListener;
  /** JVM heap, e.g. `768m`; sized for a 2-core machine by default. */
  heap?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

interface Resolved {
  port: number;
  controllerPort: number;
  version: string;
  sasl: KafkaSaslListener | undefined;
  tls: KafkaTlsListener | undefined;
  heap: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

const resolve = (o: KafkaOptions): Resolved => {
  const env = o.env ?? process.env;
  const envPort = (name: string): number | undefined => {
    const v = env[name]?.trim();
    if (!v) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65_535) throw new InfraError(`${name} must be a port number (got ${JSON.stringify(v)})`);
    return Number(v);
  };
  return {
    // FLOPWATCH_KAFKA_PORT / _CONTROLLER_PORT: a second broker beside the usual one (CI runs 3.9 there).
    port: o.port ?? envPort('FLOPWATCH_KAFKA_PORT') ?? 9092,
    controllerPort: o.controllerPort ?? envPort('FLOPWATCH_KAFKA_CONTROLLER_PORT') ?? 9093,
    version: o.version ?? kafkaVersion(env),
    sasl: o.sasl,
    tls: o.tls,
    heap: o.heap ?? '768m',
    env,
    log: o.log ?? (() => {}),
  };
};

/** The version the launcher runs: FLOPWATCH_KAFKA_VERSION when set, else KAFKA_VERSION. */
export function kafkaVersion(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.FLOPWATCH_KAFKA_VERSION?.trim();
  if (!v) return KAFKA_VERSION;
  if (!/^\d+\.\d+\.\d+$/.test(v)) throw new InfraError(`FLOPWATCH_KAFKA_VERSION must be a version such as ${KAFKA_VERSION} or ${KAFKA_3_VERSION} (got ${JSON.stringify(v)})`);
  return v;
}

const major = (version: string): number => Number(version.split('.')[0]);

export const kafkaPaths = (env: NodeJS.ProcessEnv = process.env, version = kafkaVersion(env)) => {
  const state = join(stateDir(env), 'kafka');
  return {
    libs: join(cacheDir(env), `kafka-${version}`, 'libs'),
    state,
    // 3.x (static voters) and 4.x (dynamic quorum) storage are formatted differently: one directory each.
    data: join(state, major(version) >= 4 ? `data-${major(version)}` : 'data'),
    config: join(state, 'server.properties'),
    log4j: join(state, major(version) >= 4 ? 'log4j2.properties' : 'log4j.properties'),
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

/**
 * True when the broker on 127.0.0.1:port can create (and delete) a topic: a fresh broker answers metadata
 * requests a moment before its controller takes topic requests, and tests create topics at once.
 */
async function kafkaAcceptsTopics(port: number): Promise<boolean> {
  const kafka = new Kafka({ clientId: 'flopwatch-infra-probe', brokers: [`127.0.0.1:${port}`], connectionTimeout: 3000, requestTimeout: 10_000, retry: { retries: 0 }, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const topic = `flopwatch-infra-probe-${randomBytes(4).toString('hex')}`;
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    await admin.deleteTopics({ topics: [topic] });
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

// Kafka 3.x logs through log4j 1 (reload4j); 4.x through log4j 2 behind slf4j 2.
function loggingDependencies(version: string): string {
  const dep = (g: string, a: string, v: string) => `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  if (major(version) < 4) return dep('org.slf4j', 'slf4j-reload4j', '1.7.36');
  return [dep('org.slf4j', 'slf4j-api', '2.0.17'), dep('org.apache.logging.log4j', 'log4j-slf4j2-impl', '2.25.3'), dep('org.apache.logging.log4j', 'log4j-core', '2.25.3')].join('\n');
}

/** Resolves Apache Kafka and a logging binding from Maven Central, once, into the cache directory. */
export function resolveKafkaJars(options: KafkaOptions = {}): string {
  const { env, log, version } = resolve(options);
  const { libs } = kafkaPaths(env, version);
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
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
${loggingDependencies(version)}
  </dependencies>
</project>
`,
  );
  log(`resolving Apache Kafka ${version} from Maven Central into ${libs} (once) …`);
  const r = spawnSync(
    'mvn',
    ['-B', '-q', '-f', join(work, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0) throw new InfraError(`Maven could not resolve org.apache.kafka:kafka_2.13:${version} (exit ${r.status}); see the output above.`);
  if (!readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'))) throw new InfraError(`Maven finished but ${libs} holds no Kafka jar.`);
  writeFileSync(marker, new Date().toISOString());
  return libs;
}

/** A JAAS string value, quoted for server.properties (Kafka's JAAS parser has no escapes, hence the check). */
const jaasQuote = (v: string): string => {
  if (!/^[\w.@%+~-]+$/.test(v)) throw new InfraError('SASL listener user names and passwords may hold only letters, digits and . @ % + ~ - _');
  return `"${v}"`;
};

/** server.properties lines: KRaft quorum (3.x static voters, 4.x dynamic quorum) and the listeners asked for. */
export function brokerProperties(r: Pick<Resolved, 'port' | 'controllerPort' | 'version' | 'sasl' | 'tls'>, dataDir: string): string[] {
  const listeners = [`PLAINTEXT://127.0.0.1:${r.port}`];
  const protocols = ['CONTROLLER:PLAINTEXT', 'PLAINTEXT:PLAINTEXT'];
  const extra: string[] = [];
  if (r.sasl) {
    listeners.push(`SASL_PLAINTEXT://127.0.0.1:${r.sasl.port}`);
    protocols.push('SASL_PLAINTEXT:SASL_PLAINTEXT');
    const [admin] = r.sasl.users;
    if (!admin) throw new InfraError('a SASL listener needs at least one user');
    const plainUsers = r.sasl.users.map((u) => `user_${u.username}=${jaasQuote(u.password)}`).join(' ');
    const scram = (m: string) =>
      `listener.name.sasl_plaintext.${m}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=${jaasQuote(admin.username)} password=${jaasQuote(admin.password)};`;
    extra.push(
      'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=${jaasQuote(admin.username)} password=${jaasQuote(admin.password)} ${plainUsers};`,
      scram('scram-sha-256'),
      scram('scram-sha-512'),
    );
    if (r.sasl.acls) {
      extra.push(
        'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        `super.users=User:ANONYMOUS;User:${admin.username}`,
        'allow.everyone.if.no.acl.found=true',
      );
    }
  }
  if (r.tls) {
    listeners.push(`SSL://127.0.0.1:${r.tls.port}`);
    protocols.push('SSL:SSL');
    extra.push(
      'listener.name.ssl.ssl.keystore.type=PEM',
      `listener.name.ssl.ssl.keystore.location=${r.tls.keystorePem}`,
      'listener.name.ssl.ssl.truststore.type=PEM',
      `listener.name.ssl.ssl.truststore.location=${r.tls.truststorePem}`,
      `listener.name.ssl.ssl.client.auth=${r.tls.clientAuth ? 'required' : 'none'}`,
    );
  }
  const quorum =
    major(r.version) >= 4
      ? [`controller.quorum.bootstrap.servers=127.0.0.1:${r.controllerPort}`]
      : [`controller.quorum.voters=1@127.0.0.1:${r.controllerPort}`];
  return [
    '# Written by deploy/local: a single-node KRaft broker + controller for development and tests.',
    `# Apache Kafka ${r.version}`,
    'process.roles=broker,controller',
    'node.id=1',
    ...quorum,
    `listeners=${[...listeners, `CONTROLLER://127.0.0.1:${r.controllerPort}`].join(',')}`,
    `advertised.listeners=${listeners.join(',')}`,
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=${protocols.join(',')}`,
    'inter.broker.listener.name=PLAINTEXT',
    ...extra,
    `log.dirs=${dataDir}`,
    'num.partitions=3',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=4',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'num.network.threads=2',
    'num.io.threads=4',
    'log.retention.hours=168',
    'message.max.bytes=2097152',
    '',
  ];
}

function writeConfig(r: Resolved): void {
  const p = kafkaPaths(r.env, r.version);
  mkdirSync(p.data, { recursive: true });
  writeFileSync(p.config, brokerProperties(r, p.data).join('\n'));
  const log4j1 = [
    'log4j.rootLogger=INFO, stdout',
    'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
    'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka=INFO',
    'log4j.logger.org.apache.kafka=WARN',
    'log4j.logger.state.change.logger=WARN',
  ];
  const log4j2 = [
    'appender.stdout.type=Console',
    'appender.stdout.name=STDOUT',
    'appender.stdout.layout.type=PatternLayout',
    'appender.stdout.layout.pattern=[%d] %p %m (%c)%n',
    'rootLogger.level=INFO',
    'rootLogger.appenderRef.stdout.ref=STDOUT',
    'logger.kafka.name=kafka',
    'logger.kafka.level=INFO',
    'logger.apache.name=org.apache.kafka',
    'logger.apache.level=WARN',
    'logger.statechange.name=state.change.logger',
    'logger.statechange.level=WARN',
  ];
  writeFileSync(p.log4j, [...(major(r.version) >= 4 ? log4j2 : log4j1), ''].join('\n'));
}

function java(r: Resolved, libs: string, mainClass: string, args: string[]): string[] {
  const p = kafkaPaths(r.env, r.version);
  return [
    `-Xms256m`,
    `-Xmx${r.heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:ActiveProcessorCount=2',
    '-Djava.awt.headless=true',
    major(r.version) >= 4 ? `-Dlog4j2.configurationFile=${p.log4j}` : `-Dlog4j.configuration=file:${p.log4j}`,
    '-cp',
    `${libs}/*`,
    mainClass,
    ...args,
  ];
}

function formatStorage(r: Resolved, libs: string): void {
  const p = kafkaPaths(r.env, r.version);
  if (existsSync(join(p.data, 'meta.properties'))) return;
  // Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
  const clusterId = randomBytes(16).toString('base64url');
  const args = ['format', '-t', clusterId, '-c', p.config, '--ignore-formatted'];
  // 4.x: a dynamic quorum whose only voter is this node.
  if (major(r.version) >= 4) args.push('--standalone');
  // SCRAM credentials exist before the broker first starts (KRaft keeps them in its metadata log).
  for (const u of r.sasl?.users ?? []) {
    for (const m of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) args.push('--add-scram', `${m}=[name=${u.username},password=${u.password}]`);
  }
  const res = spawnSync('java', java(r, libs, 'kafka.tools.StorageTool', args), { encoding: 'utf8' });
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
  const p = kafkaPaths(r.env, r.version);
  const pid = livePid(p.pidFile, MAIN_CLASS);
  return { brokers: `127.0.0.1:${r.port}`, answering: await kafkaAnswers(r.port), ...(pid ? { pid } : {}), logFile: p.logFile };
}

/**
 * Starts a single-node KRaft broker on 127.0.0.1 unless one already answers there, and waits until it
 * answers a metadata request. Idempotent: a running broker is reused.
 */
export async function startKafka(options: KafkaOptions = {}): Promise<KafkaStatus> {
  const r = resolve(options);
  const p = kafkaPaths(r.env, r.version);
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
  r.log(`starting Kafka ${r.version} (KRaft, pid ${child.pid}) on 127.0.0.1:${r.port}; log: ${p.logFile}`);
  const deadline = Date.now() + 120_000;
  let dots = 0;
  while (Date.now() < deadline) {
    if (exited !== null) throw new InfraError(`the Kafka broker exited with code ${exited} while starting; see ${p.logFile}`);
    if ((await kafkaAnswers(r.port, 2000)) && (await kafkaAcceptsTopics(r.port))) {
      r.log(`Kafka ${r.version} is ready on 127.0.0.1:${r.port}`);
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
  const p = kafkaPaths(r.env, r.version);
  const pid = livePid(p.pidFile, MAIN_CLASS);
  if (!pid) return false;
  r.log(`stopping Kafka (pid ${pid}) …`);
  await stopPid(pid, p.pidFile, 30_000);
  return true;
}
