import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { ApiError } from './errors.js';

/** Roles an API key can have; `admin` may do everything. */
export const ROLES = ['admin', 'analyst', 'ingest', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: the role and name of the key presented. */
export interface Principal {
  role: Role;
  /** Recorded as the actor in the audit log. */
  name: string;
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
 * Parses `role:sha256hex` or `role:name:sha256hex` entries (comma- or newline-separated, `#` starts a
 * comment). Throws naming the entry's position (never its hash) when one is malformed.
 */
export function parseApiKeys(spec: string): ApiKeyEntry[] {
  const entries = spec.split(/[,\n]/).map((s) => s.replace(/#.*$/, '').trim()).filter((s) => s.length > 0);
  return entries.map((entry, i) => {
    const parts = entry.split(':');
    const role = parts[0] as Role;
    const hex = parts.at(-1) ?? '';
    if (parts.length < 2 || parts.length > 3 || !ROLES.includes(role) || !HEX64.test(hex)) {
      throw new Error(`API key entry ${i + 1} is not role:sha256hex or role:name:sha256hex with a role of ${ROLES.join(', ')}`);
    }
    const name = parts.length === 3 && parts[1] ? parts[1] : `${role}-${hex.slice(0, 8).toLowerCase()}`;
    return { role, name, sha256: Buffer.from(hex, 'hex') };
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
      return found ? { role: found.role, name: found.name } : null;
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
