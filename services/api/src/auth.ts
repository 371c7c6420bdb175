import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { ApiError } from './errors.js';

/** Roles an API key can have; `admin` may do everything. */
export const ROLES = ['admin', 'analyst', 'ingest', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What an `ingest` key may report for: `clusters` (cluster ids, `data.cluster.id`) and `sources`
 * (prefixes of the CloudEvents `source`); `'any'` leaves that side open. An event is in scope when
 * both sides admit it. `null` on a principal: an unbound key, which may report for nothing.
 */
export interface IngestScope {
  clusters: ReadonlySet<string> | 'any';
  sources: readonly string[] | 'any';
}

/** Who is calling: the role and name of the key presented. */
export interface Principal {
  role: Role;
  /** Recorded as the actor in the audit log. */
  name: string;
  /** `ingest` keys only: what the key may report for (null: unbound, refused by POST /v1/telemetry). */
  scope?: IngestScope | null;
}

/** One configured key: its SHA-256 (never the key itself), role and name. */
export interface ApiKeyEntry extends Principal {
  sha256: Buffer;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, once a valid bearer key was presented; null otherwise. */
    principal: Principal | null;
  }
}

const HEX64 = /^[0-9a-f]{64}$/i;

/** SHA-256 of a key, hex: what API_KEYS holds. */
export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * The scope of an `ingest` entry from its tokens after the hash: `cluster=<id>` and `source=<prefix>`,
 * each repeatable; `cluster=*` (or `source=*`) opens that side. A side without tokens is open as long as
 * the other side has some, so `cluster=a` alone means "cluster a, any source". No tokens: null (unbound).
 */
function parseScope(tokens: readonly string[], position: number): IngestScope | null {
  if (tokens.length === 0) return null;
  const clusters = new Set<string>();
  const sources: string[] = [];
  for (const token of tokens) {
    const m = /^(cluster|source)=(.+)$/.exec(token);
    if (!m) throw new Error(`API key entry ${position}: "${token}" is not cluster=<id> or source=<prefix>`);
    if (m[1] === 'cluster') clusters.add(m[2]!);
    else sources.push(m[2]!);
  }
  return {
    clusters: clusters.size === 0 || clusters.has('*') ? 'any' : clusters,
    sources: sources.length === 0 || sources.includes('*') ? 'any' : sources,
  };
}

/**
 * Parses `role:sha256hex` or `role:name:sha256hex` entries (comma- or newline-separated, `#` starts a
 * comment); an `ingest` entry names what it may report for after the hash, space-separated:
 * `ingest:slurm-a:<hex> cluster=cluster-a source=slurm://cluster-a/`. Throws naming the entry's
 * position (never its hash) when one is malformed.
 */
export function parseApiKeys(spec: string): ApiKeyEntry[] {
  const entries = spec.split(/[,\n]/).map((s) => s.replace(/#.*$/, '').trim()).filter((s) => s.length > 0);
  return entries.map((entry, i) => {
    const [key = '', ...tokens] = entry.split(/\s+/);
    const parts = key.split(':');
    const role = parts[0] as Role;
    const hex = parts.at(-1) ?? '';
    if (parts.length < 2 || parts.length > 3 || !ROLES.includes(role) || !HEX64.test(hex)) {
      throw new Error(`API key entry ${i + 1} is not role:sha256hex or role:name:sha256hex with a role of ${ROLES.join(', ')}`);
    }
    if (tokens.length > 0 && role !== 'ingest') throw new Error(`API key entry ${i + 1}: only ingest keys take cluster= / source= bounds`);
    const name = parts.length === 3 && parts[1] ? parts[1] : `${role}-${hex.slice(0, 8).toLowerCase()}`;
    return { role, name, sha256: Buffer.from(hex, 'hex'), ...(role === 'ingest' ? { scope: parseScope(tokens, i + 1) } : {}) };
  });
}

/** Finds the entry of a presented key, comparing its hash with every entry in constant time. */
export function createKeyring(entries: readonly ApiKeyEntry[]) {
  return {
    authenticate(presented: string): Principal | null {
      const digest = createHash('sha256').update(presented, 'utf8').digest();
      let found: ApiKeyEntry | null = null;
      // No early exit: the time taken does not tell which entry, if any, matched.
      for (const entry of entries) if (timingSafeEqual(digest, entry.sha256) && !found) found = entry;
      if (!found) return null;
      return found.role === 'ingest' ? { role: found.role, name: found.name, scope: found.scope ?? null } : { role: found.role, name: found.name };
    },
  };
}
export type Keyring = ReturnType<typeof createKeyring>;

/** The bearer token of a request, or null. */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

/** onRequest hook (registered once, by app.ts) that sets request.principal from the bearer key. */
export function authenticate(keyring: Keyring): onRequestHookHandler {
  return function (request, _reply, done) {
    const token = bearerToken(request);
    request.principal = token ? keyring.authenticate(token) : null;
    done();
  };
}

/**
 * A route's onRequest hook letting only these roles (and admin) through: 401 without a valid key,
 * 403 for another role. Runs before the body is read. Usage: `{ onRequest: requireRole('analyst') }`.
 */
export function requireRole(...roles: Role[]) {
  const allowed = new Set<Role>(['admin', ...roles]);
  return async function (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!request.principal) {
      void reply.header('www-authenticate', 'Bearer realm="flopwatch"');
      throw new ApiError(401, 'UNAUTHORIZED', 'a valid API key is required: send "Authorization: Bearer <key>"');
    }
    if (!allowed.has(request.principal.role)) {
      throw new ApiError(403, 'FORBIDDEN', `role ${request.principal.role} may not ${request.method} ${request.routeOptions.url ?? request.url}`, { allowedRoles: [...allowed] });
    }
  };
}

/** Role sets of the routes (README has the table). */
export const READERS: Role[] = ['viewer', 'analyst'];
export const ANY_ROLE: Role[] = [...ROLES];

/** The fields of an event the scope is judged on, read leniently: the schema check comes after. */
function claimOf(input: unknown): { id: string | null; tenantId: string | null; cluster: string | null; source: string | null } {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as { id?: unknown; source?: unknown; data?: { tenantId?: unknown; cluster?: { id?: unknown } } };
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return { id: str(raw.id), tenantId: str(raw.data?.tenantId), cluster: str(raw.data?.cluster?.id), source: str(raw.source) };
}

/** Why a scope refuses an event, or null when it admits it. */
export function scopeRefusal(scope: IngestScope | null, cluster: string | null, source: string | null): 'unbound_key' | 'cluster_not_allowed' | 'source_not_allowed' | null {
  if (scope === null) return 'unbound_key';
  if (scope.clusters !== 'any' && (cluster === null || !scope.clusters.has(cluster))) return 'cluster_not_allowed';
  if (scope.sources !== 'any' && (source === null || !scope.sources.some((prefix) => source.startsWith(prefix)))) return 'source_not_allowed';
  return null;
}

/**
 * POST /v1/telemetry's scope check, before anything of the batch is validated or sent: an `ingest` key
 * reports only for its clusters and sources, so a client that can send telemetry cannot pre-cover
 * another provider's time. Throws 403 naming every refused event and its cluster and source; admin keys
 * are not bound (they may do everything).
 */
export function assertInScope(principal: Principal, batch: readonly unknown[]): void {
  if (principal.role !== 'ingest') return;
  const scope = principal.scope ?? null;
  const refused = batch.flatMap((input, index) => {
    const claim = claimOf(input);
    const reason = scopeRefusal(scope, claim.cluster, claim.source);
    return reason ? [{ index, ...claim, reason }] : [];
  });
  if (refused.length === 0) return;
  if (scope === null) {
    throw new ApiError(403, 'FORBIDDEN', `key ${principal.name} is bound to no cluster or source, so it may report for none; add cluster=<id> and/or source=<prefix> to its API_KEYS entry (cluster=* for any); none of the ${batch.length} events was sent`, { key: principal.name, refused });
  }
  const named = [...new Set(refused.map((r) => (r.reason === 'cluster_not_allowed' ? `cluster ${r.cluster ?? '(none)'}` : `source ${r.source ?? '(none)'}`)))];
  throw new ApiError(403, 'FORBIDDEN', `key ${principal.name} may not report for ${named.slice(0, 5).join(', ')}${named.length > 5 ? ` and ${named.length - 5} more` : ''}: ${refused.length} of ${batch.length} events refused (first: event[${refused[0]!.index}] ${refused[0]!.id ?? ''}), none was sent`, { key: principal.name, refused });
}
