// Lua scripts live in ../lua, one per file, named <name>-<numKeys>.lua (BullMQ's convention), or
// <name>-<numKeys>n.lua for a script that takes that many fixed keys and then a variable number (its
// caller passes the number of keys first, as EVAL does). They are registered with ioredis'
// defineCommand, which runs EVALSHA and falls back to EVAL when a server does not have the script
// cached yet (after a restart or a failover).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RedisClient } from './redis.js';

const luaDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'lua');

interface ScriptFile {
  name: string;
  /** Undefined for a script whose caller passes the number of keys. */
  numberOfKeys: number | undefined;
  lua: string;
}

/**
 * Replaces each `-- @include <name>` line with lua/includes/<name>.lua (BullMQ's convention): code
 * several scripts share, since a Redis script cannot load another.
 */
function withIncludes(lua: string, file: string): string {
  return lua.replace(/^-- @include ([a-z0-9-]+)$/gm, (_, name: string) => {
    const path = join(luaDir, 'includes', `${name}.lua`);
    if (!existsSync(path)) throw new Error(`lua script ${file} includes ${name}, but lua/includes/${name}.lua does not exist`);
    return readFileSync(path, 'utf8').trimEnd();
  });
}

function readScripts(): ScriptFile[] {
  return readdirSync(luaDir)
    .filter((f) => f.endsWith('.lua'))
    .map((file) => {
      const m = /^(.+)-(\d+)(n?)\.lua$/.exec(file);
      if (!m) throw new Error(`lua script ${file} is not named <name>-<numKeys>.lua or <name>-<numKeys>n.lua`);
      return { name: m[1]!, numberOfKeys: m[3] === 'n' ? undefined : Number(m[2]), lua: withIncludes(readFileSync(join(luaDir, file), 'utf8'), file) };
    });
}

/** The scripts as commands on a client: `client.applyUsage(...)`. */
export interface ScriptCommands {
  applyUsage(...keysAndArgs: (string | number | Buffer)[]): Promise<(string | number)[]>;
  raiseAlert(...keysAndArgs: (string | number)[]): Promise<number>;
  sealAudit(...keysAndArgs: (string | number)[]): Promise<number>;
  confirmIntent(...keysAndArgs: (string | number)[]): Promise<number>;
  markEvaluations(...keysAndArgs: (string | number)[]): Promise<number>;
  clearEvaluations(...keysAndArgs: (string | number)[]): Promise<number>;
  updateCase(...keysAndArgs: (string | number)[]): Promise<number>;
  transitionAlert(...keysAndArgs: (string | number)[]): Promise<number>;
  /** lua/move-case-4n.lua: the number of keys (4 + alerts) first. */
  moveCase(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Registers every script in ../lua on the client (idempotent) and returns it with the commands typed. */
export function defineScripts(client: RedisClient): RedisClient & ScriptCommands {
  for (const s of readScripts()) {
    const command = camel(s.name);
    if (!(command in client)) client.defineCommand(command, { ...(s.numberOfKeys === undefined ? {} : { numberOfKeys: s.numberOfKeys }), lua: s.lua });
  }
  return client as RedisClient & ScriptCommands;
}
