import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createStore } from '@flopwatch/store';
import { dropPrefix, freshPrefix, redisUrl, uniqueId, waitFor } from '@flopwatch/test-harness';
import { collectTopic, freePort, makeAlert, startNotifier } from './helpers.js';

const BIN = 'prometheus-alertmanager';
const redis = new Redis(redisUrl());
const prefix = freshPrefix('am');
let dir: string;
let am: ChildProcess;
let amUrl: string;

beforeAll(async () => {
  if (spawnSync('sh', ['-c', `command -v ${BIN}`]).status !== 0) {
    throw new Error(`${BIN} is not installed: run \`apt-get install -y prometheus-alertmanager\` (Debian) to run the Alertmanager tests`);
  }
  dir = mkdtempSync(join(tmpdir(), 'flopwatch-am-'));
  writeFileSync(join(dir, 'am.yml'), 'route:\n  receiver: default\nreceivers:\n  - name: default\n');
  const port = await freePort();
  amUrl = `http://127.0.0.1:${port}`;
  am = spawn(BIN, [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
  await waitFor(async () => (await fetch(`${amUrl}/-/ready`).catch(() => null))?.ok, { what: 'Alertmanager ready', timeoutMs: 30_000 });
});

afterAll(async () => {
  if (am && am.exitCode === null) {
    // Alertmanager writes its snapshot on the way out: remove its directory only once it has exited.
    const exited = new Promise((resolve) => am.once('exit', resolve));
    am.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
}

describe('Alertmanager', () => {
  it('receives raised alerts with mapped labels, also when the first notifier could not reach it and left the entries unacknowledged', async () => {
    const store = createStore({ redis, prefix });
    const topic = uniqueId('alerts');
    const group = uniqueId('grp');
    const alert = makeAlert('tenant-am', { severity: 'critical', level: 0.9 });
    await store.alerts.raise(alert);

    const down = await startNotifier({ prefix, topic, group, alertmanager: { url: `http://127.0.0.1:${await freePort()}`, ttlMs: 3_600_000, timeoutMs: 500 } });
    const kafka = await collectTopic(topic);
    await waitFor(() => kafka.records.length > 0, { what: 'the alert in Kafka' });
    await waitFor(async () => ((await redis.xpending(store.keys.alerts.outbox, group)) as [number])[0] === 1, { what: 'entry pending, not acknowledged' });
    await down.close();

    const up = await startNotifier({ prefix, topic, group, claimIdleMs: 300, alertmanager: { url: amUrl, ttlMs: 3_600_000, publicApiUrl: 'https://flopwatch.example' } });
    try {
      const found = await waitFor(async () => {
        const res = await fetch(`${amUrl}/api/v2/alerts?filter=${encodeURIComponent(`alert_id="${alert.id}"`)}`);
        const list = (await res.json()) as GettableAlert[];
        return list[0] ?? null;
      }, { what: 'the alert in Alertmanager', timeoutMs: 20_000 });
      expect(found.labels).toMatchObject({
        alertname: 'FlopwatchComplianceAlert', alert_id: alert.id, rule: 'frontier-approach', scope: 'tenant', subject: 'tenant-am',
        severity: 'critical', level: '0.9', tenant: 'tenant-am', tier: '2', kyc_status: 'verified', policy_version: 'test-1',
      });
      expect(found.annotations.summary).toContain('tenant tenant-am reached 90%');
      expect(found.status.state).toBe('active');
      await waitFor(async () => ((await redis.xpending(store.keys.alerts.outbox, group)) as [number])[0] === 0, { what: 'entry acknowledged' });
    } finally {
      await up.close();
      await kafka.close();
    }
  });
});
