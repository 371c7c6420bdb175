// `pnpm audit:rebuild [--out <file>] [--format ndjson|csv]`: the audit export rebuilt from the audit
// topic alone (AUDIT_TOPIC), checked with the HMAC keys (AUDIT_HMAC_KEYS / AUDIT_HMAC_KEYS_FILE).
// It reads the API's environment (Kafka brokers and security, topic, keys). The export goes to the
// file (or stdout), a summary as JSON to stderr; the exit code is 0 when the chain verifies, 1 when
// it does not, 2 when the rebuild could not run.
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { createKafkaClient } from '@flopwatch/kafka';
import { createLogger, kafkaSecurity, loadConfig } from '@flopwatch/runtime';
import { parseAuditKeys } from '@flopwatch/store';
import { rebuildAuditExport } from './audit-rebuild.js';
import { apiConfigSchema } from './config.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, format: { type: 'string', default: 'ndjson' } } });
const format = values.format === 'csv' ? 'csv' : 'ndjson';
const log = createLogger({ service: 'audit-rebuild', level: process.env.LOG_LEVEL === undefined ? 'warn' : (process.env.LOG_LEVEL as 'warn') });
try {
  if (values.format !== 'csv' && values.format !== 'ndjson') throw new Error(`--format must be ndjson or csv, not ${values.format}`);
  const config = loadConfig(apiConfigSchema, process.env);
  const keyring = parseAuditKeys([config.AUDIT_HMAC_KEYS, config.AUDIT_HMAC_KEYS_FILE ? readFileSync(config.AUDIT_HMAC_KEYS_FILE, 'utf8') : ''].join('\n'), config.AUDIT_HMAC_ACTIVE_KEY);
  const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-audit-rebuild`, logger: log, security: kafkaSecurity(config) });
  const out = values.out ? createWriteStream(values.out) : process.stdout;
  try {
    const result = await rebuildAuditExport({
      kafka, topic: config.AUDIT_TOPIC, keyring, format, log,
      write: async (chunk) => {
        if (!out.write(chunk)) await once(out, 'drain');
      },
    });
    if (values.out) {
      out.end();
      await once(out, 'finish');
    }
    process.stderr.write(`${JSON.stringify({ topic: config.AUDIT_TOPIC, ...(values.out ? { out: values.out } : {}), ...result })}\n`);
    process.exitCode = result.ok ? 0 : 1;
  } finally {
    await kafka.close();
  }
} catch (err) {
  process.stderr.write(`audit:rebuild failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
