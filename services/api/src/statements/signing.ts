// Signing and verifying compute statements: Ed25519 (node:crypto) over the statement's canonical
// JSON. Shared by the API (which signs) and `pnpm statement:verify` (which needs no Redis or Kafka).
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Canonical JSON (RFC 8785 style): object keys sorted by UTF-16 code units, no whitespace, strings
 * and numbers as JSON.stringify writes them (ECMAScript's shortest round-trip form, as JCS requires).
 * Non-finite numbers and values JSON cannot hold are refused, so two parties always hash the same bytes.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON: a number is not finite');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON: a ${typeof value} cannot be written`);
}

/** A public key as served at GET /v1/statements/keys and read by `statement:verify --keys`. */
export interface PublicStatementKey {
  keyId: string;
  algorithm: 'Ed25519';
  /** SPKI PEM. */
  publicKey: string;
  /** The key new statements are signed with (the others verify statements issued before a rotation). */
  current: boolean;
}

export interface StatementSignature {
  algorithm: 'Ed25519';
  keyId: string;
  /** Base64 of the Ed25519 signature over the UTF-8 bytes of canonicalJson(statement). */
  value: string;
}

/** What the API hands out: the statement and its signature. */
export interface SignedStatement<S = Record<string, unknown>> {
  statement: S;
  signature: StatementSignature;
}

/** A key's default id: `ed25519:` and the first 16 hex of the SHA-256 of its SPKI DER. */
export const keyIdOf = (key: KeyObject): string => `ed25519:${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)}`;

function ed25519Public(pem: string, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`${what} is not a public key (PEM)`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${what} is a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
  return key;
}

export interface StatementSigner {
  keyId: string;
  /** Every key an auditor may need: the current one first, then retired ones (rotation). */
  publicKeys: PublicStatementKey[];
  sign<S extends object>(statement: S): SignedStatement<S>;
}

/**
 * A signer from a PKCS#8 PEM Ed25519 private key. `retired` are earlier keys' public halves (PEM, with
 * their ids), still served so statements signed before a rotation verify. The private key never
 * leaves this closure (it is not logged, served or copied into errors).
 */
export function createStatementSigner({ privateKeyPem, keyId, retired = [] }: { privateKeyPem: string; keyId?: string; retired?: { keyId: string; publicKey: string }[] }): StatementSigner {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch {
    throw new Error('the statement signing key is not a private key in PEM (PKCS#8)');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the statement signing key is a ${privateKey.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
  const publicKey = createPublicKey(privateKey);
  const id = keyId ?? keyIdOf(publicKey);
  const publicKeys: PublicStatementKey[] = [
    { keyId: id, algorithm: 'Ed25519', publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), current: true },
    ...retired.map((r) => {
      ed25519Public(r.publicKey, `retired statement key ${r.keyId}`);
      return { keyId: r.keyId, algorithm: 'Ed25519' as const, publicKey: r.publicKey, current: false };
    }),
  ];
  if (new Set(publicKeys.map((k) => k.keyId)).size !== publicKeys.length) throw new Error('statement key ids must be distinct');
  return {
    keyId: id,
    publicKeys,
    sign(statement) {
      const value = sign(null, Buffer.from(canonicalJson(statement), 'utf8'), privateKey).toString('base64');
      return { statement, signature: { algorithm: 'Ed25519', keyId: id, value } };
    },
  };
}

export type VerifyOutcome = { ok: true; keyId: string } | { ok: false; reason: string };

/** Checks a signed statement against the given public keys (offline: nothing but the file and the keys). */
export function verifyStatement(signed: unknown, keys: readonly PublicStatementKey[]): VerifyOutcome {
  const s = signed as Partial<SignedStatement> | null;
  if (!s || typeof s !== 'object' || typeof s.statement !== 'object' || s.statement === null || typeof s.signature !== 'object' || s.signature === null) {
    return { ok: false, reason: 'not a signed statement: expected { "statement": {…}, "signature": {…} }' };
  }
  const { algorithm, keyId, value } = s.signature;
  if (algorithm !== 'Ed25519') return { ok: false, reason: `unsupported signature algorithm ${JSON.stringify(algorithm)}` };
  const issuer = (s.statement as { issuer?: { keyId?: unknown } }).issuer;
  if (issuer !== undefined && issuer?.keyId !== keyId) return { ok: false, reason: `the signature names key ${JSON.stringify(keyId)} but the statement names ${JSON.stringify(issuer?.keyId)}` };
  const key = keys.find((k) => k.keyId === keyId);
  if (!key) return { ok: false, reason: `no public key with id ${JSON.stringify(keyId)} among the ${keys.length} given` };
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return { ok: false, reason: 'the signature value is not base64' };
  let bytes: string;
  try {
    bytes = canonicalJson(s.statement);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const good = verify(null, Buffer.from(bytes, 'utf8'), ed25519Public(key.publicKey, `public key ${key.keyId}`), Buffer.from(value, 'base64'));
  return good ? { ok: true, keyId: key.keyId } : { ok: false, reason: `the signature does not match the statement (key ${key.keyId}): the statement was changed after it was signed, or signed with another key` };
}
