// `pnpm statement:verify <statement.json> [--keys <keys.json>]`
// Checks a signed compute statement offline: its Ed25519 signature over the statement's canonical JSON,
// against public keys as GET /v1/statements/keys serves them (default: statement-keys.json beside the
// statement). Needs no Redis, Kafka or network. Exit 0: verified; 1: refused (the reason is printed);
// 2: usage or unreadable files. docs/statements.md.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyStatement, type PublicStatementKey } from '../services/api/src/statements/signing.js';

const USAGE = 'usage: pnpm statement:verify <statement.json> [--keys <keys.json>]';

function fail(code: 1 | 2, message: string): never {
  console.error(`statement:verify: ${message}${code === 2 ? `\n${USAGE}` : ''}`);
  process.exit(code);
}

let parsed: { values: { keys?: string; help: boolean }; positionals: string[] };
try {
  parsed = parseArgs({ options: { keys: { type: 'string' }, help: { type: 'boolean', default: false } }, allowPositionals: true });
} catch (err) {
  fail(2, (err as Error).message);
}
if (parsed.values.help) {
  console.log(USAGE);
  process.exit(0);
}
const [file] = parsed.positionals;
if (!file || parsed.positionals.length > 1) fail(2, 'name one statement file');
const keysFile = parsed.values.keys ?? join(dirname(file), 'statement-keys.json');
if (!existsSync(keysFile)) fail(2, `no public keys: ${keysFile} does not exist (save GET /v1/statements/keys there, or pass --keys)`);

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    fail(2, `${what} ${path} is not readable JSON: ${(err as Error).message}`);
  }
}
const signed = readJson(file, 'statement');
const keysDoc = readJson(keysFile, 'keys file') as { keys?: unknown };
const keys = Array.isArray(keysDoc?.keys) ? (keysDoc.keys as PublicStatementKey[]) : fail(2, `keys file ${keysFile} has no "keys" list`);

let outcome;
try {
  outcome = verifyStatement(signed, keys.map((k) => ({ ...k, algorithm: 'Ed25519', current: Boolean(k.current) })));
} catch (err) {
  fail(1, (err as Error).message);
}
if (!outcome.ok) fail(1, `REFUSED: ${outcome.reason}`);
const s = (signed as { statement: { id?: string; subject?: { kind?: string; id?: string }; period?: { from?: string; to?: string }; issuedAt?: string } }).statement;
console.log(`verified: statement ${s.id ?? '?'} (${s.subject?.kind ?? '?'} ${s.subject?.id ?? '?'}, ${s.period?.from ?? '?'}..${s.period?.to ?? '?'}, issued ${s.issuedAt ?? '?'}) signed by key ${outcome.keyId}`);
