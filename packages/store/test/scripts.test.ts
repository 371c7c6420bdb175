import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, freshPrefix, testRedis } from '@flopwatch/test-harness';
import { REPLY_CODES, ScriptReplyError, decodeReply } from '../src/reply-codes.js';
import { SCRIPTS, defineScripts, expandIncludes, readScripts } from '../src/scripts.js';

const redis = testRedis();
const dirs: string[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await dropPrefix(redis, ...prefixes);
  redis.disconnect();
});

/** A lua folder of its own: scripts at its top, includes under includes/. */
function luaFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fw-lua-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'includes'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('the include loader', () => {
  it('inlines nested includes once each, before their first use, and the script runs with its functions taking arguments', async () => {
    const dir = luaFolder({
      'includes/add.lua': 'local function add(a, b) return a + b end',
      'includes/twice.lua': '-- @include add\nlocal function twice(x) return add(x, x) end',
      'includes/sum.lua': '-- @include add\n-- @include twice\nlocal function sum(xs)\n  local t = 0\n  for _, x in ipairs(xs) do t = add(t, twice(x)) end\n  return t\nend',
      'sum-1.lua': "-- @include twice\n-- @include sum\nredis.call('SET', KEYS[1], sum({ tonumber(ARGV[1]), tonumber(ARGV[2]) }))\nreturn tonumber(redis.call('GET', KEYS[1]))",
    });
    const [script] = readScripts(dir);
    expect(script).toMatchObject({ name: 'sum', numberOfKeys: 1 });
    const lua = script!.lua;
    expect(occurrences(lua, 'local function add(')).toBe(1);
    expect(occurrences(lua, 'local function twice(')).toBe(1);
    expect(occurrences(lua, 'local function sum(')).toBe(1);
    expect(lua.indexOf('local function add(')).toBeLessThan(lua.indexOf('local function twice('));
    expect(lua.indexOf('local function twice(')).toBeLessThan(lua.indexOf('local function sum('));
    expect(lua).not.toMatch(/^--\s*@include/m);
    const prefix = freshPrefix('include');
    prefixes.push(prefix);
    const [a, b] = [3, 11];
    expect(await redis.eval(lua, 1, `${prefix}sum`, a, b)).toBe(2 * a + 2 * b);
  });

  it('names a missing include and the chain that asked for it', () => {
    const dir = luaFolder({ 'includes/outer.lua': '-- @include nowhere\nlocal function outer() end' });
    expect(() => expandIncludes('-- @include outer\nreturn 1', 'x-0.lua', join(dir, 'includes'))).toThrow(/x-0\.lua includes nowhere \(x-0\.lua → outer\), but .*nowhere\.lua does not exist/);
  });

  it('refuses includes that include one another, directly or through a third', () => {
    const dir = luaFolder({
      'includes/a.lua': '-- @include b\nlocal function a() end',
      'includes/b.lua': '-- @include c\nlocal function b() end',
      'includes/c.lua': '-- @include a\nlocal function c() end',
      'includes/self.lua': '-- @include self\nlocal function self() end',
    });
    const includes = join(dir, 'includes');
    expect(() => expandIncludes('-- @include a\nreturn 1', 'x-0.lua', includes)).toThrow('includes form a cycle: x-0.lua → a → b → c → a');
    expect(() => expandIncludes('-- @include self\nreturn 1', 'x-0.lua', includes)).toThrow('includes form a cycle: x-0.lua → self → self');
  });

  it('refuses a script file not named <name>-<numKeys>.lua or <name>-<numKeys>n.lua', () => {
    const dir = luaFolder({ 'nokeys.lua': 'return 1' });
    expect(() => readScripts(dir)).toThrow(/nokeys\.lua is not named <name>-<numKeys>\.lua or <name>-<numKeys>n\.lua/);
    const other = luaFolder({ 'keys-2x.lua': 'return 1' });
    expect(() => readScripts(other)).toThrow(/keys-2x\.lua is not named/);
  });

  it('reads <name>-<numKeys>n.lua as that many fixed keys followed by a variable number, which EVAL gets counted first', async () => {
    const dir = luaFolder({ 'fixed-2.lua': 'return #KEYS', 'count-2n.lua': 'return { #KEYS, #KEYS - 2, ARGV[1] }' });
    const byName = new Map(readScripts(dir).map((s) => [s.name, s]));
    expect(byName.get('fixed')).toMatchObject({ numberOfKeys: 2, variableKeys: false, suffix: '2' });
    expect(byName.get('count')).toMatchObject({ numberOfKeys: 2, variableKeys: true, suffix: '2n' });
    const extra = ['e1', 'e2', 'e3'].map((k) => `{t}${k}`);
    expect(await redis.eval(byName.get('count')!.lua, 2 + extra.length, '{t}a', '{t}b', ...extra, 'arg')).toEqual([2 + extra.length, extra.length, 'arg']);
  });
});

describe('the scripts as shipped', () => {
  it('every file has one declaration with as many keys as its name says, and every script compiles on Redis', async () => {
    const files = readScripts();
    const kebab = (command: string) => command.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const suffix = (d: { keys: readonly string[]; restKeys?: string }) => `${d.keys.length}${d.restKeys === undefined ? '' : 'n'}`;
    expect(files.map((f) => `${f.name}-${f.suffix}`).sort()).toEqual(Object.entries(SCRIPTS).map(([command, d]) => `${kebab(command)}-${suffix(d)}`).sort());
    expect(files.filter((f) => f.variableKeys).map((f) => f.name)).toEqual(Object.entries(SCRIPTS).filter(([, d]) => 'restKeys' in d).map(([command]) => kebab(command)));
    for (const f of files) expect(await redis.script('LOAD', f.lua)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('pass named keys and arguments in the order the script reads them, and decode its reply codes', async () => {
    const prefix = freshPrefix('scripts');
    prefixes.push(prefix);
    const scripts = defineScripts(redis);
    const schedule = `${prefix}{am}schedule`;
    await redis.zadd(schedule, 100, 'c1');
    // releaseCase: only the claim whose lease end is the case's score releases it.
    expect(await scripts.releaseCase({ keys: { amSchedule: schedule }, args: { caseId: 'c1', leaseUntil: 99, nextAt: 500 } })).toBe(false);
    expect(await scripts.releaseCase({ keys: { amSchedule: schedule }, args: { caseId: 'c1', leaseUntil: 100, nextAt: 500 } })).toBe(true);
    expect(await redis.zscore(schedule, 'c1')).toBe('500');
    // redeliverDelivery: -1 for a delivery that does not exist reads as not_found.
    const d = `${prefix}{webhooks}`;
    expect(await scripts.redeliverDelivery({ keys: { delivery: `${d}:d`, attempts: `${d}:a`, schedule: `${d}:s`, dead: `${d}:x` }, args: { deliveryId: 'none', now: 1 } })).toBe('not_found');
    await expect(scripts.releaseCase({ keys: {} as never, args: { caseId: 'c1', leaseUntil: 1, nextAt: '' } })).rejects.toThrow('script releaseCase: amSchedule is missing');
  });

  it('count the variable keys of a <name>-<numKeys>n.lua script for the caller (moveCase and a case of 0, 1 or 2 alerts)', async () => {
    const prefix = freshPrefix('scripts');
    prefixes.push(prefix);
    const scripts = defineScripts(redis);
    const k = (name: string) => `${prefix}{alerts}${name}`;
    const fixed = { case: k('case'), caseIndex: k('cases'), outbox: k('outbox'), unsealed: k('unsealed'), caseEntries: k('cases:ix'), caseCounts: k('cases:n') };
    const noEntry = { at: '', actor: '', action: '', object: '', data: '' };
    const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
    const caseText = '{"id":"c1"}';
    const alertTexts = ['{"id":"a1"}', '{"id":"a2"}'];
    // Only checks: each alert sent with the version read and no new text, so nothing is written.
    const checks = (texts: string[], versions = texts.map(sha1)) => texts.flatMap((_, i) => [`a${i + 1}`, versions[i]!, '', '', '', '', '', '']);
    const move = (alerts: number, caseVersion: string, versions?: string[]) =>
      scripts.moveCase({
        keys: { ...fixed, alerts: alertTexts.slice(0, alerts).map((_, i) => k(`alert:a${i + 1}`)) },
        args: { caseId: 'c1', caseVersion, case: '', openedAt: 1, ...noEntry, caseIndexEntry: '', alertChanges: checks(alertTexts.slice(0, alerts), versions) },
      });
    expect(await move(0, sha1(caseText))).toBe('not_found');
    await redis.set(fixed.case, caseText);
    for (const [i, text] of alertTexts.entries()) await redis.set(k(`alert:a${i + 1}`), text);
    expect(await move(0, sha1(caseText))).toBe('done');
    expect(await move(1, sha1(caseText))).toBe('done');
    expect(await move(2, sha1(caseText))).toBe('done');
    // The second alert's version is checked against the second alert key: a stale one is refused.
    expect(await move(2, sha1(caseText), [sha1(alertTexts[0]!), sha1('{"id":"a2","old":true}')])).toBe('stale');
    expect(await move(2, sha1('{"id":"c0"}'))).toBe('stale');
    expect(await redis.exists(fixed.outbox, fixed.unsealed, fixed.caseEntries, fixed.caseCounts)).toBe(0);
    await expect(scripts.moveCase({ keys: fixed as never, args: { caseId: 'c1', caseVersion: '', case: '', openedAt: 1, ...noEntry, caseIndexEntry: '', alertChanges: [] } })).rejects.toThrow('script moveCase: alerts is missing');
  });

  it('keep KEYS and ARGV out of the includes: their functions take what they need as arguments', () => {
    const includes = join(dirname(fileURLToPath(import.meta.url)), '..', 'lua', 'includes');
    const code = readdirSync(includes).flatMap((f) => readFileSync(join(includes, f), 'utf8').split('\n').map((line) => [f, line.replace(/--.*$/, '')] as const));
    expect(code.length).toBeGreaterThan(0);
    expect(code.filter(([, line]) => /\b(KEYS|ARGV)\[/.test(line))).toEqual([]);
  });

  it('name each reply code once, return no negative code that is not named, and refuse a code a script does not give', () => {
    expect(new Set(Object.values(REPLY_CODES)).size).toBe(Object.keys(REPLY_CODES).length);
    const named = new Set<number>(Object.values(REPLY_CODES));
    const returned = readScripts().flatMap((f) => [...f.lua.matchAll(/\breturn (-\d+)\b/g)].map((m) => [f.name, Number(m[1])] as const));
    expect(returned.length).toBeGreaterThan(0);
    expect(returned.filter(([, code]) => !named.has(code))).toEqual([]);
    expect(decodeReply('raiseAlert', REPLY_CODES.stale, ['done', 'noop', 'stale'])).toBe('stale');
    expect(() => decodeReply('raiseAlert', REPLY_CODES.not_found, ['done', 'noop', 'stale'])).toThrow(ScriptReplyError);
    expect(() => decodeReply('raiseAlert', 7, ['done'])).toThrow('script raiseAlert replied 7, not one of done');
  });
});
