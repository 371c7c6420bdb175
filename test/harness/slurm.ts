// A real single-node Slurm (Debian's slurm-wlm 22.05 packages) in a temporary directory: munged,
// slurmctld, slurmd with fake GPU devices (eight unless told), and slurmrestd with JWT auth on its own
// ports; with `accounting`, slurmdbd on the local MariaDB too.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './events.js';

const BINARIES = ['munged', 'slurmctld', 'slurmd', 'slurmrestd', 'scontrol', 'sbatch', 'scancel', 'squeue'] as const;
// slurmrestd rejects tokens of SlurmUser (root here); the Debian package's `slurm` user reads the job list.
const REST_USER = 'slurm';
const SBIN = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export interface TestSlurm {
  /** Base URL of slurmrestd, e.g. http://127.0.0.1:6820. */
  url: string;
  cluster: string;
  /** The temporary directory holding the configuration, state and logs. */
  dir: string;
  partition: string;
  /** A JWT for `user` (`scontrol token`). */
  token: string;
  user: string;
  /** Submits `sbatch --wrap` with extra arguments; returns the job id. */
  sbatch(args: string[]): string;
  /** `scontrol show job -o` fields of one job (JobState, StartTime, …). */
  showJob(id: string): Record<string, string>;
  cancel(id: string): void;
  /** Runs `scontrol` with this cluster's configuration (e.g. `suspend <id>`); returns its output. */
  scontrol(args: string[]): string;
  /** Runs `sacct` (with `accounting`: slurmdbd's record); returns its output. */
  sacct(args: string[]): string;
  close(): Promise<void>;
}

function which(name: string): string | undefined {
  return SBIN.map((d) => join(d, name)).find((p) => existsSync(p));
}

/** Throws a message naming what is missing when the machine cannot run Slurm (not root, packages absent). */
export function requireSlurm(): void {
  const missing = BINARIES.filter((b) => !which(b));
  if (missing.length > 0) {
    throw new Error(`Slurm tests need Debian's slurm packages (missing: ${missing.join(', ')}): apt-get install -y slurmctld slurmd slurmrestd munge slurm-client`);
  }
  if (process.getuid?.() !== 0) throw new Error('Slurm tests run slurmd as root (SlurmUser=root); run them as root, as .ci/run does');
}

/** Starts munged, slurmctld, slurmd and slurmrestd in a fresh directory; close() stops them and removes it. */
export interface SlurmOptions {
  cluster?: string;
  /**
   * CPUs slurmd announces (default 2). More than the machine has lets more one-core jobs run at once;
   * slurmd then takes the configuration over the hardware (SlurmdParameters=config_overrides).
   */
  cpus?: number;
  /** Fake GPU devices on the node (default 8). */
  gpus?: number;
  /** slurmctld's MinJobAge: seconds an ended job stays listed (Slurm's default 300). */
  minJobAgeSeconds?: number;
  /**
   * Also runs slurmdbd on the local MariaDB (127.0.0.1:3306, root, database `fw_slurm_<random>`,
   * dropped on close), records GPUs in accounting (AccountingStorageTRES=gres/gpu) and serves
   * slurmrestd's `/slurmdb/v0.0.38` endpoints.
   */
  accounting?: boolean;
  /**
   * With `accounting`: Slurm accounts to create (root a user of each) before slurmctld starts. With
   * slurmdbd, a job submitted with `-A` of an unknown account runs under the user's default account.
   */
  accounts?: string[];
}

export async function startSlurm(options: SlurmOptions = {}): Promise<TestSlurm> {
  requireSlurm();
  const dir = mkdtempSync(join(tmpdir(), 'fw-slurm-'));
  const children: ChildProcess[] = [];
  const host = hostname().split('.')[0]!;
  const cluster = options.cluster ?? `fw${randomBytes(2).toString('hex')}`;
  const node = 'fwnode1';
  const [ctldPort, slurmdPort, restPort, dbdPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const database = `fw_slurm_${randomBytes(4).toString('hex')}`;
  const munge = { key: join(dir, 'munge.key'), socket: join(dir, 'munge.socket'), log: join(dir, 'munged.log'), pid: join(dir, 'munged.pid'), seed: join(dir, 'munged.seed') };
  const conf = join(dir, 'slurm.conf');
  // scontrol prints local times without a zone: UTC makes them readable as such.
  const env = { ...process.env, SLURM_CONF: conf, TZ: 'UTC' };
  const logs = () => ['slurmctld.log', 'slurmd.log', 'munged.log', 'slurmrestd.log', 'slurmdbd.log'].map((f) => existsSync(join(dir, f)) ? `--- ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-2000)}` : '').join('\n');

  const close = async () => {
    // Jobs first: a slurmstepd whose slurmd is gone would outlive the test.
    if (existsSync(conf) && children.some((c) => c.exitCode === null)) {
      spawnSync(which('scancel')!, ['--full', '--partition=gpu'], { env });
      await waitFor(() => spawnSync(which('squeue')!, ['-h', '-o', '%i'], { env, encoding: 'utf8' }).stdout.trim() === '', { timeoutMs: 15_000, intervalMs: 250, what: 'every job to end' }).catch(() => undefined);
    }
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const exited = new Promise((r) => child.once('exit', r));
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }
    if (options.accounting) mysqlAsRoot(`DROP DATABASE IF EXISTS ${database}`);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    writeFileSync(munge.key, randomBytes(1024), { mode: 0o400 });
    for (const sub of ['state', 'spool', 'dev']) mkdirSync(join(dir, sub));
    // slurmd refuses plain files as GPU devices: character devices (1,3 = /dev/null's numbers) pass.
    const gpus = options.gpus ?? 8;
    for (let i = 0; i < gpus; i++) execFileSync('mknod', [join(dir, 'dev', `nvidia${i}`), 'c', '1', '3']);
    writeFileSync(join(dir, 'jwt_hs256.key'), randomBytes(32), { mode: 0o600 });
    writeFileSync(join(dir, 'gres.conf'), `AutoDetect=off\nNodeName=${node} Name=gpu Type=h100 File=${join(dir, 'dev')}/nvidia[0-${gpus - 1}]\n`);
    writeFileSync(conf, [
      `ClusterName=${cluster}`,
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      `AuthInfo=socket=${munge.socket}`,
      'AuthAltTypes=auth/jwt',
      `AuthAltParameters=jwt_key=${join(dir, 'jwt_hs256.key')}`,
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      ...(options.accounting
        ? ['AccountingStorageType=accounting_storage/slurmdbd', 'AccountingStorageHost=127.0.0.1', `AccountingStoragePort=${dbdPort}`, `AccountingStoragePass=${munge.socket}`, 'AccountingStorageTRES=gres/gpu']
        : ['AccountingStorageType=accounting_storage/none']),
      'JobCompType=jobcomp/none',
      'MpiDefault=none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'GresTypes=gpu',
      'ReturnToService=2',
      'SchedulerType=sched/builtin',
      ...(options.cpus !== undefined && options.cpus > 2 ? ['SlurmdParameters=config_overrides'] : []),
      ...(options.minJobAgeSeconds === undefined ? [] : [`MinJobAge=${options.minJobAgeSeconds}`]),
      `NodeName=${node} NodeAddr=127.0.0.1 NodeHostname=${host} CPUs=${Math.max(2, options.cpus ?? 2)} RealMemory=1000 Gres=gpu:h100:${gpus} State=UNKNOWN`,
      `PartitionName=gpu Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'));

    const daemon = (cmd: string, args: string[], extraEnv: Record<string, string> = {}, logFile?: string) => {
      const child = spawn(which(cmd)!, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      const out: string[] = [];
      child.stdout?.on('data', (c: Buffer) => out.push(c.toString()));
      child.stderr?.on('data', (c: Buffer) => out.push(c.toString()));
      if (logFile) {
        const flush = () => writeFileSync(join(dir, logFile), out.join(''));
        child.stdout?.on('data', flush);
        child.stderr?.on('data', flush);
      }
      children.push(child);
      return child;
    };
    daemon('munged', ['--force', '-F', '--key-file', munge.key, '--log-file', munge.log, '--pid-file', munge.pid, '--socket', munge.socket, '--seed-file', munge.seed]);
    await waitFor(() => existsSync(munge.socket), { timeoutMs: 10_000, what: 'munged socket' });
    if (options.accounting) {
      await ensureMariaDb();
      const dbdConf = join(dir, 'slurmdbd.conf');
      writeFileSync(dbdConf, [
        'AuthType=auth/munge',
        `AuthInfo=socket=${munge.socket}`,
        // slurmrestd reaches slurmdbd with the caller's JWT.
        'AuthAltTypes=auth/jwt',
        `AuthAltParameters=jwt_key=${join(dir, 'jwt_hs256.key')}`,
        'DbdHost=localhost',
        'DbdAddr=127.0.0.1',
        `DbdPort=${dbdPort}`,
        'SlurmUser=root',
        `PidFile=${join(dir, 'slurmdbd.pid')}`,
        `LogFile=${join(dir, 'slurmdbd.log')}`,
        'StorageType=accounting_storage/mysql',
        'StorageHost=127.0.0.1',
        'StoragePort=3306',
        `StorageUser=${DB_USER}`,
        `StoragePass=${DB_PASSWORD}`,
        `StorageLoc=${database}`,
        '',
      ].join('\n'), { mode: 0o600 });
      daemon('slurmdbd', ['-D'], {}, 'slurmdbd.stdout.log');
      await waitFor(() => existsSync(join(dir, 'slurmdbd.log')) && readFileSync(join(dir, 'slurmdbd.log'), 'utf8').includes('slurmdbd version'), { timeoutMs: 30_000, intervalMs: 250, what: 'slurmdbd to start' });
      await waitFor(() => spawnSync(which('sacctmgr')!, ['-i', 'add', 'cluster', cluster], { env, encoding: 'utf8' }).status === 0 || spawnSync(which('sacctmgr')!, ['-n', '-P', 'list', 'cluster', cluster], { env, encoding: 'utf8' }).stdout.includes(cluster), { timeoutMs: 30_000, intervalMs: 500, what: 'the cluster to be registered in slurmdbd' });
      if (options.accounts && options.accounts.length > 0) {
        const list = options.accounts.join(',');
        execFileSync(which('sacctmgr')!, ['-i', 'add', 'account', list, `cluster=${cluster}`], { env, encoding: 'utf8' });
        execFileSync(which('sacctmgr')!, ['-i', 'add', 'user', 'root', `account=${list}`, `cluster=${cluster}`], { env, encoding: 'utf8' });
      }
    }
    daemon('slurmctld', ['-D', '-i', '-f', conf]);
    await waitFor(() => spawnSync(which('scontrol')!, ['ping'], { env, encoding: 'utf8' }).stdout.includes('UP'), { timeoutMs: 30_000, intervalMs: 250, what: 'slurmctld to answer' });
    daemon('slurmd', ['-D', '-f', conf, '-N', node]);
    await waitFor(() => {
      spawnSync(which('scontrol')!, ['update', `nodename=${node}`, 'state=resume'], { env, encoding: 'utf8' });
      const out = spawnSync(which('scontrol')!, ['show', 'node', node, '-o'], { env, encoding: 'utf8' }).stdout;
      return /State=IDLE/.test(out);
    }, { timeoutMs: 30_000, intervalMs: 500, what: 'the node to be IDLE' });
    const tokenOut = execFileSync(which('scontrol')!, ['token', `username=${REST_USER}`, 'lifespan=7200'], { env, encoding: 'utf8' });
    const token = /SLURM_JWT=(\S+)/.exec(tokenOut)?.[1];
    if (!token) throw new Error(`scontrol token printed no token: ${tokenOut}`);
    daemon('slurmrestd', ['-f', conf, '-a', 'rest_auth/jwt', '-s', options.accounting ? 'openapi/v0.0.38,openapi/dbv0.0.38' : 'openapi/v0.0.38', `127.0.0.1:${restPort}`], { SLURMRESTD_SECURITY: 'disable_user_check', SLURM_JWT: 'daemon' }, 'slurmrestd.log');
    const url = `http://127.0.0.1:${restPort}`;
    await waitFor(async () => (await fetch(`${url}/slurm/v0.0.38/ping`, { headers: { 'X-SLURM-USER-NAME': REST_USER, 'X-SLURM-USER-TOKEN': token } }).catch(() => null))?.ok, { timeoutMs: 20_000, intervalMs: 250, what: 'slurmrestd to answer' });

    return {
      url,
      cluster,
      dir,
      partition: 'gpu',
      token,
      user: REST_USER,
      sbatch(args) {
        const out = execFileSync(which('sbatch')!, ['--parsable', '-D', dir, '-o', '/dev/null', ...args], { env, encoding: 'utf8' });
        return out.trim().split(';')[0]!;
      },
      showJob(id) {
        const out = execFileSync(which('scontrol')!, ['show', 'job', id, '-o'], { env, encoding: 'utf8' });
        return Object.fromEntries(out.trim().split(/\s+/).map((kv) => kv.split(/=(.*)/s, 2) as [string, string]));
      },
      cancel(id) {
        spawnSync(which('scancel')!, [id], { env });
      },
      scontrol(args) {
        return execFileSync(which('scontrol')!, args, { env, encoding: 'utf8' });
      },
      sacct(args) {
        return execFileSync(which('sacct')!, args, { env, encoding: 'utf8' });
      },
      close,
    };
  } catch (err) {
    const detail = logs();
    await close();
    throw new Error(`Slurm did not start: ${(err as Error).message}\n${detail}`, { cause: err });
  }
}

// The accounting database: the machine's MariaDB (Debian's mariadb-server), started here when it is
// installed but not running, as on a fresh machine without systemd. Root reaches it through its socket
// (Debian authenticates root by unix_socket), and slurmdbd through TCP as a test-only user that may
// create and drop the `fw_slurm_*` databases.
const DB_USER = 'fw_slurm_test';
const DB_PASSWORD = 'fw-slurm-test-only';

function mysqlAsRoot(sql: string): { ok: boolean; output: string } {
  const r = spawnSync(which('mariadb') ?? which('mysql') ?? 'mysql', ['-uroot', '-e', sql], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

let mariaDbReady: Promise<void> | undefined;
function ensureMariaDb(): Promise<void> {
  mariaDbReady ??= (async () => {
    if (!mysqlAsRoot('SELECT 1').ok) {
      const server = which('mariadbd') ?? which('mysqld');
      if (!server) throw new Error('Slurm accounting tests need MariaDB: apt-get install -y mariadb-server mariadb-client slurmdbd');
      mkdirSync('/run/mysqld', { recursive: true });
      spawnSync('chown', ['mysql:mysql', '/run/mysqld']);
      spawnSync(which('start-stop-daemon') ?? 'start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', server]);
      await waitFor(() => mysqlAsRoot('SELECT 1').ok, { timeoutMs: 60_000, intervalMs: 500, what: 'MariaDB to answer on its socket' });
    }
    const grant = mysqlAsRoot([
      `CREATE USER IF NOT EXISTS '${DB_USER}'@'127.0.0.1' IDENTIFIED BY '${DB_PASSWORD}'`,
      `CREATE USER IF NOT EXISTS '${DB_USER}'@'localhost' IDENTIFIED BY '${DB_PASSWORD}'`,
      `GRANT ALL PRIVILEGES ON \`fw\\_slurm\\_%\`.* TO '${DB_USER}'@'127.0.0.1'`,
      `GRANT ALL PRIVILEGES ON \`fw\\_slurm\\_%\`.* TO '${DB_USER}'@'localhost'`,
    ].join('; '));
    if (!grant.ok) throw new Error(`could not create the Slurm accounting test user in MariaDB: ${grant.output}`);
  })();
  mariaDbReady.catch(() => { mariaDbReady = undefined; });
  return mariaDbReady;
}
