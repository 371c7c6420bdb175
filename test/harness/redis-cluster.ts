// A real three-node Redis Cluster from the machine's redis-server, created with
// `redis-cli --cluster create`, for tests that must hold on Cluster as on a single Redis.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { freePort } from './ports.js';

export interface TestRedisCluster {
  /** Seed nodes, `127.0.0.1:port,…` */
  nodes: string;
  client(): Cluster;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function clusterOk(port: number): boolean {
  const r = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' });
  return r.stdout.includes('cluster_state:ok');
}

/** Starts three cluster-mode redis-servers on free loopback ports and joins them; needs redis-server and redis-cli. */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server is not installed: the Redis Cluster tests need it (apt-get install redis-server)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'flopwatch-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const procs: ChildProcess[] = ports.map((port) =>
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
      '--cluster-node-timeout', '2000', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }),
  );
  const stop = async () => {
    // Each node rewrites its nodes.conf on the way out: remove the directory once all have exited.
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((resolve) => {
      p.once('exit', resolve);
      p.kill('SIGTERM');
    }))));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      for (let i = 0; i < 50 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG'; i++) await sleep(100);
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (let i = 0; i < 100 && !ports.every(clusterOk); i++) await sleep(100);
    if (!ports.every(clusterOk)) throw new Error('the Redis Cluster did not reach cluster_state:ok');
  } catch (err) {
    await stop();
    throw err;
  }
  const nodes = ports.map((p) => `127.0.0.1:${p}`).join(',');
  return {
    nodes,
    client: () => new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), { enableAutoPipelining: true }),
    stop,
  };
}
