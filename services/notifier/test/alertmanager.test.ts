import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { applyTransition, caseId, type Alert } from '@flopwatch/contracts';
import { createKeys, createStore, type Store } from '@flopwatch/store';
import { dropPrefix, freshPrefix, redisUrl, uniqueId, waitFor } from '@flopwatch/test-harness';
import { alertMessageId } from '@flopwatch/webhooks';
import { addEndpoint, collectTopic, counterValue, freePort, makeAlert, startNotifier, startReceiver } from './helpers.js';

const BIN = 'prometheus-alertmanager';
const RESEND_MS = 1_000;
const redis = new Redis(redisUrl());
const prefix = freshPrefix('am');
let dir: string;
let am: ChildProcess | undefined;

beforeAll(() => {
  if (spawnSync('sh', ['-c', `command -v ${BIN}`]).status !== 0) {
    throw new Error(`${BIN} is not installed: run \`apt-get install -y prometheus-alertmanager\` (Debian) to run the Alertmanager tests`);
  }
  dir = mkdtempSync(join(tmpdir(), 'flopwatch-am-'));
  writeFileSync(join(dir, 'am.yml'), 'route:\n  receiver: default\nreceivers:\n  - name: default\n');
});

/** Starts a real Alertmanager on `port` with an empty storage directory of its own (a restart that lost its state). */
async function startAlertmanager(port: number, storage: string): Promise<void> {
  am = spawn(BIN, [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, storage)}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => null))?.ok, { what: 'Alertmanager ready', timeoutMs: 30_000 });
}

async function stopAlertmanager(): Promise<void> {
  if (!am || am.exitCode !== null) return;
  // Alertmanager writes its snapshot on the way out: its directory is removed only once it has exited.
  const exited = new Promise((resolve) => am!.once('exit', resolve));
  am.kill('SIGTERM');
  await exited;
}

afterAll(async () => {
  await stopAlertmanager();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  generatorURL?: string;
  status: { state: string };
}

async function amAlert(url: string, id: string): Promise<GettableAlert | null> {
  const res = await fetch(`${url}/api/v2/alerts?filter=${encodeURIComponent(`case_id="${id}"`)}`).catch(() => null);
  if (!res?.ok) return null;
  const list = (await res.json()) as GettableAlert[];
  return list[0] ?? null;
}

async function resolve(store: Store, alert: Alert): Promise<void> {
  const text = (await store.cases.raw(alert.id))!;
  const current = JSON.parse(text) as Alert;
  const to = applyTransition(current.status, 'resolve');
  const next = { ...current, status: to, history: [...current.history, { at: new Date().toISOString(), action: 'resolve', from: current.status, to, actor: 'analyst' }] };
  expect(await store.cases.replace(alert.id, text, next)).toBe('replaced');
}

describe('Alertmanager channel', () => {
  it('survives Alertmanager down, then answering 400, then restarted without its state: Kafka and the webhook get each alert once, Alertmanager every open case, resolved ones end', async () => {
    const store = createStore({ redis, prefix });
    const keys = createKeys(prefix);
    const topic = uniqueId('alerts');
    const group = uniqueId('grp');
    const secrets: string[] = [];
    const receiver = await startReceiver(() => secrets);
    const ep = await addEndpoint(store, receiver.url);
    secrets.push(ep.secret);
    // Two cases: tenant-amx reached two levels (one case, escalated to critical), tenant-amy one.
    const x1 = makeAlert('tenant-amx', { level: 0.5 });
    const x2 = makeAlert('tenant-amx', { level: 0.8, severity: 'critical' });
    const y = makeAlert('tenant-amy', { level: 0.5 });
    const alerts = [x1, x2, y];
    for (const a of alerts) await store.alerts.raise(a);
    const caseX = caseId(x1);
    const caseY = caseId(y);
    expect(caseId(x2)).toBe(caseX);

    // 1. Nothing listens at the Alertmanager address.
    const port = await freePort();
    const amUrl = `http://127.0.0.1:${port}`;
    const n = await startNotifier({ prefix, topic, group, alertmanager: { url: amUrl, resendIntervalMs: RESEND_MS, timeoutMs: 500, publicApiUrl: 'https://flopwatch.example' } });
    const kafka = await collectTopic(topic);
    try {
      await waitFor(() => kafka.records.length >= 3 && receiver.received.length >= 3, { what: 'the alerts in Kafka and at the webhook' });
      // Every channel marked the entries (Alertmanager's mark: the case is on its schedule), so none stays pending.
      await waitFor(async () => ((await redis.xpending(keys.alerts.outbox, group)) as [number])[0] === 0 && (await redis.xlen(keys.alerts.outbox)) === 0, { what: 'entries acknowledged' });
      await waitFor(async () => ((await store.notifyChannels.getCase(caseX))?.failures ?? 0) >= 3, { what: 'Alertmanager retried while down', timeoutMs: 15_000 });
      expect(await counterValue(n.metrics, 'flopwatch_notifier_alertmanager_posts_total', { result: 'error' })).toBeGreaterThanOrEqual(3);

      // 2. A server at that address answers 400 to everything: each case is dead-lettered once, not retried.
      let rejections = 0;
      const rejecting = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          rejections++;
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":400,"message":"bad alerts"}');
        });
      });
      await new Promise<void>((r) => rejecting.listen(port, '127.0.0.1', r));
      try {
        const dead = await waitFor(async () => {
          const list = await store.notifyChannels.listDeadLetters();
          return list.length >= 2 ? list : null;
        }, { what: 'Alertmanager dead letters', timeoutMs: 15_000 });
        // Two more regular re-sends of both cases, rejected again: still one dead letter per case.
        const seen = rejections;
        await waitFor(() => rejections >= seen + 4, { what: 'later re-sends', timeoutMs: 15_000 });
        const after = await store.notifyChannels.listDeadLetters();
        expect(after).toHaveLength(2);
        expect(dead.map((d) => d.caseId).sort()).toEqual([caseX, caseY].sort());
        expect(dead.every((d) => d.channel === 'alertmanager' && d.reason === 'alertmanager_rejected' && /400/.test(d.error))).toBe(true);
        expect(await counterValue(n.metrics, 'flopwatch_notifier_dead_letters_total', { channel: 'alertmanager', reason: 'alertmanager_rejected' })).toBe(2);
        // Rejected cases wait for the regular interval, never the short retry backoff.
        const next = await store.notifyChannels.nextSend(caseX);
        expect(next).not.toBeNull();
      } finally {
        await new Promise<void>((r) => rejecting.close(() => r()));
      }

      // 3. The real Alertmanager at that address: both open cases arrive, firing, with endsAt ahead.
      await startAlertmanager(port, 'data-1');
      const firing = await waitFor(async () => {
        const [fx, fy] = [await amAlert(amUrl, caseX), await amAlert(amUrl, caseY)];
        return fx && fy ? { fx, fy } : null;
      }, { what: 'both cases in Alertmanager', timeoutMs: 15_000 });
      const { fx } = firing;
      expect(fx.labels).toEqual({
        alertname: 'FlopwatchComplianceAlert', case_id: caseX, rule: 'frontier-approach', scope: 'tenant', subject: 'tenant-amx',
        severity: 'critical', tenant: 'tenant-amx', tier: '2', kyc_status: 'verified',
      });
      expect(fx.annotations).toMatchObject({ alert_id: x2.id, level: '0.8', policy_version: 'test-1', status: 'open' });
      expect(fx.annotations.summary).toContain('tenant tenant-amx reached 80%');
      expect(fx.generatorURL).toBe(`https://flopwatch.example/console/#/cases/${caseX}`);
      expect(fx.status.state).toBe('active');
      expect(Date.parse(fx.startsAt)).toBe(Date.parse(x1.raisedAt));
      expect(Date.parse(fx.endsAt)).toBeGreaterThan(Date.now());

      // Re-sent every interval: Alertmanager sees the case updated again, its end pushed further ahead.
      const resent = await waitFor(async () => {
        const a = await amAlert(amUrl, caseX);
        return a && Date.parse(a.updatedAt) > Date.parse(fx.updatedAt) && Date.parse(a.endsAt) > Date.parse(fx.endsAt) ? a : null;
      }, { what: 'a re-send', timeoutMs: 10_000 });
      expect(Date.parse(resent.endsAt)).toBeGreaterThan(Date.now());

      // 4. Alertmanager restarted with its state gone: the re-send brings both open cases back.
      await stopAlertmanager();
      await startAlertmanager(port, 'data-2');
      await waitFor(async () => (await amAlert(amUrl, caseX)) && (await amAlert(amUrl, caseY)), { what: 'both cases back after the restart', timeoutMs: 15_000 });

      // 5. Case Y resolved: Alertmanager gets endsAt = now and no longer lists it; X stays firing.
      await resolve(store, y);
      await waitFor(async () => (await amAlert(amUrl, caseY)) === null, { what: 'case Y resolved in Alertmanager', timeoutMs: 15_000 });
      await waitFor(async () => (await store.notifyChannels.nextSend(caseY)) === null, { what: 'case Y off the schedule' });
      expect(await counterValue(n.metrics, 'flopwatch_notifier_alertmanager_case_sends_total', { state: 'resolved' })).toBe(1);
      expect((await amAlert(amUrl, caseX))?.status.state).toBe('active');

      // Throughout: each raised alert once on the topic and once at the webhook; the resolution once each.
      await waitFor(() => kafka.records.length >= 4 && receiver.received.length >= 4, { what: 'the update in Kafka and at the webhook' });
      await new Promise((r) => setTimeout(r, 2 * RESEND_MS));
      expect(kafka.records.filter((r) => r.type === 'alert.raised').map((r) => r.value.id).sort()).toEqual(alerts.map((a) => a.id).sort());
      expect(kafka.records.filter((r) => r.type === 'alert.updated').map((r) => [r.value.id, r.value.status])).toEqual([[y.id, 'resolved']]);
      const raisedIds = alerts.map((a) => alertMessageId(a.id, 'alert.raised'));
      expect(receiver.received.filter((r) => raisedIds.includes(r.webhookId)).map((r) => r.webhookId).sort()).toEqual([...raisedIds].sort());
      expect(receiver.received).toHaveLength(4);
      expect(receiver.received.every((r) => r.verified)).toBe(true);
    } finally {
      await n.close();
      await kafka.close();
      await receiver.close();
    }
  });
});
