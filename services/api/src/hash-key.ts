// Prints the SHA-256 of an API key, the form API_KEYS holds: `pnpm --filter @flopwatch/api hash-key <key>`.
// With no argument, generates a random key and prints both (store the key; configure the hash).
import { randomBytes } from 'node:crypto';
import { hashKey } from './auth.js';

const given = process.argv[2];
const key = given ?? `fwk_${randomBytes(24).toString('base64url')}`;
if (!given) process.stdout.write(`key:  ${key}\n`);
process.stdout.write(`${given ? '' : 'hash: '}${hashKey(key)}\n`);
