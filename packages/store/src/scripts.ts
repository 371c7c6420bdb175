// Lua scripts live in ../lua, one per file, named <name>-<numKeys>.lua (BullMQ's convention), or
// <name>-<numKeys>n.lua for a script that takes that many fixed keys and then a variable number (a
// case's alerts). Each is declared below once: its KEYS and ARGV by name, in the order the script
// reads them (the variable keys as one named list, `restKeys`), and how its reply reads (reply codes:
// reply-codes.ts). Callers pass named objects; the loader checks every file has a declaration with as
// many fixed keys as its name says, and `restKeys` exactly when the name ends in `n` (it then passes
// the number of keys first, as EVAL takes it; callers never count keys). They are registered with
// ioredis' defineCommand, which runs EVALSHA and falls back to EVAL when a server does not have the
// script cached yet (after a restart or a failover).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RedisClient } from './redis.js';
import { decodeReply, type ReplyCode } from './reply-codes.js';

const luaDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'lua');

/** A value of a key or argument as ioredis sends it. */
export type ScriptArg = string | number | Buffer;

/**
 * One script: its KEYS and ARGV by name, in order, an optional trailing list of KEYS (a script named
 * <name>-<numKeys>n.lua), an optional trailing list of ARGV, and its reply.
 */
export interface ScriptDeclaration<K extends string, A extends string, V extends string, W extends string, R> {
  keys: readonly K[];
  /** The name of the KEYS that follow `keys`, passed as one array (e.g. a case's alerts). */
  restKeys?: W;
  args: readonly A[];
  /** The name of the ARGV that follow `args`, passed as one array (e.g. the subjects of a call). */
  rest?: V;
  reply: (raw: unknown, script: string) => R;
}

/** What a call of a script passes: every key and argument by name. */
export type ScriptCall<D> = D extends ScriptDeclaration<infer K, infer A, infer V, infer W, unknown>
  ? { keys: Record<K, string> & Record<W, readonly string[]>; args: Record<A, ScriptArg> & Record<V, readonly ScriptArg[]> }
  : never;

function script<const K extends string, const A extends string, R, const V extends string = never, const W extends string = never>(d: ScriptDeclaration<K, A, V, W, R>) {
  return d;
}

/** A reply that is one of the named codes `allowed`. */
const codes = <const N extends ReplyCode>(...allowed: N[]) => (raw: unknown, name: string): N => decodeReply(name, raw, allowed);
/** A reply 1 | 0: whether the script did what it was asked. */
const flag = (raw: unknown): boolean => raw === 1;
const count = (raw: unknown): number => Number(raw);
const strings = (raw: unknown): string[] => raw as string[];
const ignored = (): void => undefined;

/** The arguments of an audit entry every audited script appends (ARGV[1..5]; lua/includes/audit-entry.lua). */
const AUDIT_ENTRY = ['at', 'actor', 'action', 'object', 'data'] as const;

/** Every script, by command name (its file: the name in kebab case, then its number of keys, then `n` with restKeys). */
export const SCRIPTS = {
  applyUsage: script({
    keys: ['totals', 'days', 'hours', 'cover', 'slices', 'granularity', 'jobs', 'jobOps', 'lineages', 'active', 'coverage', 'tombs'],
    args: ['activeWindowMs', 'latenessMs', 'maxIntervalMs', 'pruneLimit', 'maxAgeMs', 'classes', 'slices', 'reports'],
    reply: (raw) => raw as (string | number)[],
  }),
  raiseAlert: script({
    keys: ['record', 'outbox', 'index', 'case', 'caseIndex', 'unsealed', 'caseEntries', 'caseCounts'],
    args: [...AUDIT_ENTRY, 'alertId', 'alert', 'raisedAt', 'caseId', 'case', 'openedAt', 'caseVersion', 'caseIndexEntry'],
    reply: codes('done', 'noop', 'stale'),
  }),
  transitionAlert: script({
    keys: ['record', 'outbox', 'unsealed'],
    args: [...AUDIT_ENTRY, 'alertId', 'version', 'record'],
    reply: codes('done', 'stale', 'not_found'),
  }),
  updateCase: script({
    keys: ['case', 'caseIndex', 'unsealed', 'caseEntries', 'caseCounts'],
    args: [...AUDIT_ENTRY, 'caseId', 'case', 'openedAt', 'version', 'caseIndexEntry'],
    reply: codes('done', 'not_found', 'stale'),
  }),
  /** The migration of a store written before the case indexes (case-index.ts): one case, if unchanged. */
  indexCase: script({
    keys: ['case', 'caseIndex', 'caseEntries', 'caseCounts'],
    args: ['version', 'caseIndexEntry'],
    reply: codes('done', 'noop'),
  }),
  confirmIntent: script({
    keys: ['intents', 'unsealed'],
    args: [...AUDIT_ENTRY, 'intentId'],
    reply: flag,
  }),
  moveCase: script({
    keys: ['case', 'caseIndex', 'outbox', 'unsealed', 'caseEntries', 'caseCounts'],
    restKeys: 'alerts',
    args: ['caseId', 'caseVersion', 'case', 'openedAt', ...AUDIT_ENTRY, 'caseIndexEntry'],
    /** Per alert of `alerts`, in order: id, version read, new record or '', then its audit entry's five fields. */
    rest: 'alertChanges',
    reply: codes('done', 'not_found', 'stale'),
  }),
  sealAudit: script({
    keys: ['log', 'head', 'unsealed', 'lease', 'floor', 'outbox', 'caseAudit'],
    args: ['token', 'head', 'publish', 'trimId', 'trimSeq', 'floor', 'minId'],
    rest: 'entries',
    reply: (raw, name) => (typeof raw === 'number' && raw >= 0 ? raw : decodeReply(name, raw, ['not_leaseholder', 'stale', 'entry_gone'] as const)),
  }),
  markEvaluations: script({ keys: ['pending'], args: [], rest: 'subjects', reply: count }),
  clearEvaluations: script({ keys: ['pending'], args: ['mark'], rest: 'subjects', reply: count }),
  settleChannel: script({
    keys: ['outbox', 'channels', 'held'],
    args: ['group', 'entryId', 'channel', 'mark'],
    rest: 'required',
    reply: flag,
  }),
  trackCase: script({
    keys: ['caseAlerts', 'amCase', 'amSchedule'],
    args: ['alertId', 'caseId', 'dueAt', 'rule', 'scope', 'subject'],
    reply: ignored,
  }),
  redeliverChannel: script({
    keys: ['dead', 'outbox', 'amSchedule'],
    args: ['channel', 'now'],
    reply: (raw) => {
      const [kafka, alertmanager] = raw as [number, number];
      return { kafka, alertmanager };
    },
  }),
  releaseCase: script({ keys: ['amSchedule'], args: ['caseId', 'leaseUntil', 'nextAt'], reply: flag }),
  claimDeliveries: script({ keys: ['schedule'], args: ['now', 'leaseUntil', 'limit'], reply: strings }),
  checkpoint: script({ keys: ['writer', 'readers'], args: ['op', 'lineageId', 'tenantId'], reply: strings }),
  linkLineage: script({
    keys: ['record', 'links'],
    args: ['lineageId', 'parentId', 'evidence', 'tenantId', 'notes'],
    reply: flag,
  }),
  enqueueDelivery: script({
    keys: ['delivery', 'schedule', 'history', 'dead'],
    args: ['deliveryId', 'dueAt', 'createdAt', 'historyCap', 'deadReason'],
    rest: 'fields',
    reply: flag,
  }),
  settleDelivery: script({
    keys: ['delivery', 'attempts', 'schedule', 'dead', 'failing'],
    args: ['deliveryId', 'attempts', 'outcome', 'now', 'nextAt', 'attempt', 'attemptsCap', 'retentionMs', 'endpointId', 'reachedEndpoint', 'lastStatus', 'lastError', 'deadReason'],
    reply: (raw) => {
      const [applied, since] = raw as [number, number];
      return { applied: applied === 1, failingSince: since < 0 ? null : since };
    },
  }),
  redeliverDelivery: script({
    keys: ['delivery', 'attempts', 'schedule', 'dead'],
    args: ['deliveryId', 'now'],
    reply: codes('done', 'noop', 'not_found'),
  }),
};

type Declared = typeof SCRIPTS;

/** The scripts as typed calls on one client: `scripts.raiseAlert({ keys: {…}, args: {…} })`. */
export type Scripts = {
  [N in keyof Declared]: (call: ScriptCall<Declared[N]>) => Promise<ReturnType<Declared[N]['reply']>>;
};

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * A script's text with each `-- @include <name>` line replaced by lua/includes/<name>.lua, itself
 * expanded the same way (BullMQ's convention: a Redis script cannot load another). Each include is
 * inlined once, where it is first named, so a later `@include` of it is dropped; an include that
 * includes itself, directly or not, is an error, and so is a missing one. Includes define
 * `local function`s that take what they need as arguments (never KEYS or ARGV).
 */
export function expandIncludes(lua: string, file: string, includesDir = join(luaDir, 'includes')): string {
  const done = new Set<string>();
  const expand = (text: string, chain: string[]): string =>
    text.replace(/^--\s*@include\s+([a-z0-9-]+)[ \t]*$/gm, (_, name: string) => {
      if (chain.includes(name)) throw new Error(`lua script ${file}: includes form a cycle: ${[...chain, name].join(' → ')}`);
      if (done.has(name)) return `-- (${name} included above)`;
      const path = join(includesDir, `${name}.lua`);
      if (!existsSync(path)) throw new Error(`lua script ${file} includes ${name} (${chain.join(' → ')}), but ${path} does not exist`);
      const body = expand(readFileSync(path, 'utf8').trimEnd(), [...chain, name]);
      done.add(name);
      return body;
    });
  return expand(lua, [file]);
}

interface ScriptFile {
  name: string;
  /** Its fixed keys: all of them, or the first ones when `variableKeys`. */
  numberOfKeys: number;
  /** Named <name>-<numKeys>n.lua: more keys follow the fixed ones, their number passed first. */
  variableKeys: boolean;
  /** The file name's suffix: `<numKeys>` or `<numKeys>n`. */
  suffix: string;
  lua: string;
}

/** The suffix of the file a declaration names: its number of fixed keys, then `n` when it has restKeys. */
const suffixOf = (d: { keys: readonly string[]; restKeys?: string }) => `${d.keys.length}${d.restKeys === undefined ? '' : 'n'}`;

/** Every script in `dir` (one per file, <name>-<numKeys>.lua or <name>-<numKeys>n.lua), includes expanded. */
export function readScripts(dir = luaDir): ScriptFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.lua'))
    .map((file) => {
      const m = /^(.+)-((\d+)(n?))\.lua$/.exec(file);
      if (!m) throw new Error(`lua script ${file} is not named <name>-<numKeys>.lua or <name>-<numKeys>n.lua`);
      return { name: m[1]!, numberOfKeys: Number(m[3]), variableKeys: m[4] === 'n', suffix: m[2]!, lua: expandIncludes(readFileSync(join(dir, file), 'utf8'), file, join(dir, 'includes')) };
    });
}

/** The files of ../lua by command, checked against the declarations: one file per script, named for the keys declared. */
function declaredScripts(): Map<string, ScriptFile> {
  const files = new Map(readScripts().map((s) => [s.name, s]));
  const out = new Map<string, ScriptFile>();
  for (const [command, d] of Object.entries(SCRIPTS) as [string, ScriptDeclaration<string, string, string, string, unknown>][]) {
    const name = kebab(command);
    const file = files.get(name);
    const suffix = suffixOf(d);
    if (!file) throw new Error(`script ${command} is declared, but lua/${name}-${suffix}.lua does not exist`);
    if (file.suffix !== suffix) throw new Error(`lua/${name}-${file.suffix}.lua does not match its declaration, which names ${d.keys.length} keys${d.restKeys === undefined ? '' : ` and then ${d.restKeys}`} (lua/${name}-${suffix}.lua)`);
    files.delete(name);
    out.set(command, file);
  }
  for (const f of files.values()) throw new Error(`lua/${f.name}-${f.suffix}.lua has no declaration in src/scripts.ts`);
  return out;
}

type Command = (...flat: ScriptArg[]) => Promise<unknown>;

/** Registers every script on the client (idempotent) and returns them as typed calls on it. */
export function defineScripts(client: RedisClient): Scripts {
  const commands = client as unknown as Record<string, Command>;
  let files: Map<string, ScriptFile> | undefined;
  const calls: Record<string, (call: { keys: Record<string, string | readonly string[]>; args: Record<string, unknown> }) => Promise<unknown>> = {};
  for (const [command, d] of Object.entries(SCRIPTS) as [string, ScriptDeclaration<string, string, string, string, unknown>][]) {
    if (!(command in client)) {
      files ??= declaredScripts();
      const s = files.get(command)!;
      // Without numberOfKeys, ioredis takes the number of keys as the call's first argument.
      client.defineCommand(command, s.variableKeys ? { lua: s.lua } : { numberOfKeys: s.numberOfKeys, lua: s.lua });
    }
    calls[command] = async ({ keys, args }) => {
      const flat: ScriptArg[] = [];
      for (const k of d.keys) flat.push(present(keys[k], command, k) as string);
      if (d.restKeys !== undefined) {
        for (const k of present(keys[d.restKeys], command, d.restKeys) as readonly string[]) flat.push(k);
        flat.unshift(flat.length);
      }
      for (const a of d.args) flat.push(present(args[a], command, a) as ScriptArg);
      if (d.rest !== undefined) for (const v of present(args[d.rest], command, d.rest) as ScriptArg[]) flat.push(v);
      return d.reply(await commands[command]!(...flat), command);
    };
  }
  return calls as unknown as Scripts;
}

function present<T>(value: T | undefined, command: string, name: string): T {
  if (value === undefined) throw new Error(`script ${command}: ${name} is missing`);
  return value;
}
