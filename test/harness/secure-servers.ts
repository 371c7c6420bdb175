// Servers that demand credentials or TLS, started by a test on its own free ports and stopped after it:
// a redis-server with `requirepass` and/or TLS, a Redis Cluster with both, and a Kafka broker (the
// project's launcher, deploy/local) with a SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256/512) and an SSL
// listener requiring client certificates. The machine's shared Kafka and Redis are never touched.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaVersion, startKafka, stopKafka } from '@flopwatch/local';
import { freePort } from './ports.js';
import type { TestCertificates } from './tls.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SecureRedisOptions {
  password?: string;
  /** Serve TLS only (no plaintext port), with this CA's server certificate. */
  tls?: TestCertificates;
  /** With tls: require a client certificate signed by the CA. */
  requireClientCert?: boolean;
}

function cliArgs(port: number, o: SecureRedisOptions): string[] {
  return [
    '-p', String(port),
    ...(o.tls ? ['--tls', '--cacert', o.tls.ca, '--cert', o.tls.clientCert, '--key', o.tls.clientKey] : []),
    ...(o.password ? ['--no-auth-warning', '-a', o.password] : []),
  ];
}

function serverArgs(port: number, o: SecureRedisOptions): string[] {
  const tls = o.tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', o.tls.serverCert, '--tls-key-file', o.tls.serverKey, '--tls-ca-cert-file', o.tls.ca,
        '--tls-auth-clients', o.requireClientCert ? 'yes' : 'no']
    : ['--port', String(port)];
  return [...tls, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(o.password ? ['--requirepass', o.password] : [])];
}

const answers = (port: number, o: SecureRedisOptions) => spawnSync('redis-cli', [...cliArgs(port, o), 'ping'], { encoding: 'utf8', timeout: 5_000 }).stdout.trim() === 'PONG';

async function stopAll(procs: ChildProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((resolve) => {
    p.once('exit', resolve);
    p.kill('SIGTERM');
  }))));
}

export interface SecureRedis {
  port: number;
  /** `redis://127.0.0.1:port` or `rediss://…` — without the password. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a redis-server on a free port and waits until it answers. A port taken between `freePort()`
 * and the server's bind (another test starting something) makes the server exit: it is started again
 * on another port, up to three times.
 */
async function startNode(o: SecureRedisOptions, extraArgs: (port: number) => string[] = () => []): Promise<{ port: number; proc: ChildProcess }> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = spawn('redis-server', [...serverArgs(port, o), ...extraArgs(port)], { stdio: 'ignore' });
    for (let i = 0; i < 200 && proc.exitCode === null && !answers(port, o); i++) await sleep(50);
    if (answers(port, o)) return { port, proc };
    last = proc.exitCode !== null ? `exited with ${proc.exitCode} (port ${port} taken?)` : `did not answer on port ${port} within 10 s`;
    await stopAll([proc]);
  }
  throw new Error(`redis-server with ${o.tls ? 'TLS' : 'no TLS'}${o.password ? ' and a password' : ''} did not start: ${last} (is redis-server built with TLS?)`);
}

/** A single redis-server with a password and/or TLS on a free port. */
export async function startSecureRedis(o: SecureRedisOptions): Promise<SecureRedis> {
  const { port, proc } = await startNode(o);
  return { port, url: `${o.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`, stop: () => stopAll([proc]) };
}

export interface SecureRedisCluster {
  /** Seed nodes, `127.0.0.1:port,…` */
  nodes: string;
  stop(): Promise<void>;
}

/**
 * Three cluster-mode redis-servers on free loopback ports, joined with `redis-cli --cluster create`:
 * with a password when `password` (and TLS between everyone when `tls`); plain with `{}`.
 */
export async function startSecureRedisCluster(o: SecureRedisOptions): Promise<SecureRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'flopwatch-secure-cluster-'));
  const procs: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await stopAll(procs);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let n = 0; n < 3; n++) {
      const node = await startNode(o, (port) => [...(o.password ? ['--masterauth', o.password] : []), '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', '2000', '--dir', dir, ...(o.tls ? ['--tls-cluster', 'yes', '--tls-replication', 'yes'] : [])]);
      procs.push(node.proc);
      ports.push(node.port);
    }
    const create = spawnSync('redis-cli', [...cliArgs(ports[0]!, o), '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    const ok = (port: number) => spawnSync('redis-cli', [...cliArgs(port, o), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok');
    for (let i = 0; i < 100 && !ports.every(ok); i++) await sleep(100);
    if (!ports.every(ok)) throw new Error('the secured Redis Cluster did not reach cluster_state:ok');
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), stop };
}

export interface SecureKafka {
  version: string;
  /** The PLAINTEXT listener (inter-broker; for the test's own set-up). */
  plaintext: string;
  /** The SASL_PLAINTEXT listener: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for every user. */
  sasl: string;
  /** The SSL listener; client certificates required. */
  tls: string;
  users: { username: string; password: string }[];
  stop(): Promise<void>;
}

/**
 * A Kafka broker of the launcher's default version (FLOPWATCH_KAFKA_VERSION) on free ports, with its own
 * state directory: SCRAM credentials are created when its storage is formatted. With `acls`, the broker
 * enforces ACLs (the first user and the PLAINTEXT listener are super users; a resource without ACLs is
 * open to all), changed through the PLAINTEXT listener's admin (createAcls / deleteAcls).
 */
export async function startSecureKafka(certs: TestCertificates, users: { username: string; password: string }[], log: (line: string) => void = () => {}, opts: { acls?: boolean } = {}): Promise<SecureKafka> {
  const state = mkdtempSync(join(tmpdir(), 'flopwatch-secure-kafka-'));
  const env = { ...process.env, FLOPWATCH_STATE_DIR: state };
  const [port, controllerPort, saslPort, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const options = {
    port,
    controllerPort,
    env,
    log,
    heap: '384m',
    sasl: { port: saslPort, users, ...(opts.acls ? { acls: true } : {}) },
    tls: { port: tlsPort, keystorePem: certs.serverKeystore, truststorePem: certs.ca, clientAuth: true },
  };
  try {
    await startKafka(options);
  } catch (err) {
    await stopKafka(options).catch(() => {});
    rmSync(state, { recursive: true, force: true });
    throw err;
  }
  return {
    version: kafkaVersion(env),
    plaintext: `127.0.0.1:${port}`,
    sasl: `127.0.0.1:${saslPort}`,
    tls: `127.0.0.1:${tlsPort}`,
    users,
    async stop() {
      await stopKafka(options);
      rmSync(state, { recursive: true, force: true });
    },
  };
}
