// Alertmanager credentials come from their own settings and travel in an Authorization header: a real
// Alertmanager that requires basic auth (its web config) receives the notifier's cases; a URL carrying
// credentials is refused at start without printing them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseId } from '@flopwatch/contracts';
import { httpAuthorization } from '@flopwatch/runtime';
import { createStore } from '@flopwatch/store';
import { dropPrefix, freshPrefix, kafkaBrokers, redisUrl, spawnService, testRedis, uniqueId, waitFor } from '@flopwatch/test-harness';
import { postAlerts, toPostableAlert } from '../src/alertmanager.js';
import { freePort, makeAlert } from './helpers.js';

const BIN = 'prometheus-alertmanager';
const USER = 'flopwatch';
const PASSWORD = 'am-Pa55word';
// bcrypt of PASSWORD (Alertmanager's web config holds only hashes): python3 -c "import crypt; print(crypt.crypt('am-Pa55word', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))"
const PASSWORD_BCRYPT = '$2b$04$Hr0qRps4huvswgapEgVli.0arJEb3QJxqy732PWTzUYlBfe.2XJcC';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const redis = testRedis();
const prefix = freshPrefix('amauth');
let dir: string;
let am: ChildProcess | undefined;

beforeAll(() => {
  if (spawnSync('sh', ['-c', `command -v ${BIN}`]).status !== 0) {
    throw new Error(`${BIN} is not installed: run \`apt-get install -y prometheus-alertmanager\` (Debian) to run the Alertmanager tests`);
  }
  dir = mkdtempSync(join(tmpdir(), 'flopwatch-amauth-'));
  writeFileSync(join(dir, 'am.yml'), 'route:\n  receiver: default\nreceivers:\n  - name: default\n');
  writeFileSync(join(dir, 'web.yml'), `basic_auth_users:\n  ${USER}: ${PASSWORD_BCRYPT}\n`);
  writeFileSync(join(dir, 'password'), `${PASSWORD}\n`);
});

afterAll(async () => {
  if (am && am.exitCode === null) {
    const exited = new Promise((resolve) => am!.once('exit', resolve));
    am.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

describe('Alertmanager credentials', () => {
  it('posts to an Alertmanager that requires basic auth with the user and the password file, never logging the password', async () => {
    const port = await freePort();
    const amUrl = `http://127.0.0.1:${port}`;
    am = spawn(BIN, [`--config.file=${join(dir, 'am.yml')}`, `--web.config.file=${join(dir, 'web.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
    const auth = { authorization: basic(USER, PASSWORD) };
    await waitFor(async () => (await fetch(`${amUrl}/-/ready`, { headers: auth }).catch(() => null))?.ok, { what: 'Alertmanager ready', timeoutMs: 30_000 });
    // The web config is in force: without the header Alertmanager refuses, with a wrong password too.
    expect((await fetch(`${amUrl}/api/v2/alerts`)).status).toBe(401);
    expect((await fetch(`${amUrl}/api/v2/alerts`, { headers: { authorization: basic(USER, 'wrong') } })).status).toBe(401);

    const alert = makeAlert(uniqueId('tenant-auth'));
    await createStore({ redis, prefix }).alerts.raise(alert);
    const proc = spawnService('notifier', {
      KAFKA_BROKERS: kafkaBrokers().join(','), REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, ALERTS_TOPIC: uniqueId('alerts'), ALERTS_TOPIC_PARTITIONS: '1',
      OUTBOX_GROUP: uniqueId('grp'), POLL_INTERVAL: '20ms', ALERTMANAGER_URL: amUrl, ALERTMANAGER_RESEND_INTERVAL: '1s',
      ALERTMANAGER_USERNAME: USER, ALERTMANAGER_PASSWORD_FILE: join(dir, 'password'), LOG_LEVEL: 'debug',
    });
    try {
      const found = await waitFor(async () => {
        const res = await fetch(`${amUrl}/api/v2/alerts?filter=${encodeURIComponent(`case_id="${caseId(alert)}"`)}`, { headers: auth });
        const list = res.ok ? ((await res.json()) as { labels: Record<string, string> }[]) : [];
        return list[0] ?? null;
      }, { what: 'the case in the authenticated Alertmanager', timeoutMs: 30_000 });
      expect(found.labels.subject).toBe(alert.subject);
    } finally {
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    }
    const output = proc.lines.join('\n');
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain(auth.authorization.slice('Basic '.length));
  });

  it('sends a bearer token from ALERTMANAGER_BEARER_TOKEN_FILE as the Authorization header', async () => {
    const tokenFile = join(dir, 'token');
    const token = `tok-${uniqueId()}`;
    writeFileSync(tokenFile, `${token}\n`);
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume().on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const options = { url, resendIntervalMs: 1_000, authorization: httpAuthorization('ALERTMANAGER', { bearerTokenFile: tokenFile }) };
      await postAlerts(options, [toPostableAlert([makeAlert('tenant-bearer')], true, options)]);
      expect(seen.map((h) => h.authorization)).toEqual([`Bearer ${token}`]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('refuses an ALERTMANAGER_URL with credentials at start, naming the settings to use and not the password', async () => {
    const proc = spawnService('notifier', { KAFKA_BROKERS: kafkaBrokers().join(','), REDIS_URL: redisUrl(), ALERTMANAGER_URL: 'http://am-user:url-S3cret@127.0.0.1:9093' });
    expect(await proc.exited).toBe(1);
    const output = proc.lines.join('\n');
    expect(output).toMatch(/ALERTMANAGER_URL: must not carry credentials: set ALERTMANAGER_USERNAME and ALERTMANAGER_PASSWORD, or ALERTMANAGER_BEARER_TOKEN/);
    expect(output).not.toContain('url-S3cret');
  });
});
