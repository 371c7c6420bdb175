// The hot path's check of a usage event: the contract's rules (`usageEventSchema` in
// @flopwatch/contracts) written out as plain code, so a valid event costs a few comparisons and no
// allocation. zod stays the source of truth: a refused event is described by zod (same DLQ reason and
// message as before), and test/usage-check.test.ts proves, on arbitrary valid and invalid events,
// that both give the same verdict. Change the schema, and that test tells you to change this too.
import { PRECISIONS, USAGE_EVENT_TYPE } from '@flopwatch/contracts';

// The same patterns as packages/contracts/src/ids.ts, usage-event.ts and zod's iso.datetime({ offset: true }).
const ID = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;
const COUNTRY = /^[A-Z]{2}$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const TIMESTAMP =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|([+-](?:[01]\d|2[0-3]):[0-5]\d)))$/;
const PRECISION_SET: ReadonlySet<unknown> = new Set(PRECISIONS);
const MAX_ACCELERATORS = 1_000_000;
const MAX_OPERATIONS = 1e30;

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPlainObject = (v: unknown): v is Obj => {
  if (!isObject(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
// zod measures strings in code points (a surrogate pair counts once); UTF-16 units are an upper bound.
function codePoints(s: string): number {
  let count = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}
const withinMax = (s: string, max: number): boolean => s.length <= max || codePoints(s) <= max;
/** A string of `min` (0 or 1) to `max` code points. */
const text = (v: unknown, min: 0 | 1, max: number): boolean => typeof v === 'string' && v.length >= min && withinMax(v, max);
const optText = (v: unknown, min: 0 | 1, max: number): boolean => v === undefined || text(v, min, max);
const id = (v: unknown): boolean => typeof v === 'string' && ID.test(v);
const timestamp = (v: unknown): boolean => typeof v === 'string' && TIMESTAMP.test(v);

// multipleOf 0.001 with the float tolerance the contract uses (see usage-event.ts).
function wholeThousandths(count: number): boolean {
  const q = count / 0.001;
  return Math.abs(Math.round(q) - q) <= 1e-6;
}

function labels(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isPlainObject(v) || Object.hasOwn(v, '__proto__')) return false;
  for (const key in v) {
    if (!Object.hasOwn(v, key)) continue;
    const value = v[key];
    if (!LABEL_KEY.test(key) || !text(value, 0, 256)) return false;
  }
  return true;
}

function data(d: unknown): boolean {
  if (!isObject(d)) return false;
  if (!id(d.tenantId) || !id(d.jobId) || (d.node !== undefined && !id(d.node))) return false;
  const { cluster, accelerator, interval, utilization, operations, lineage } = d;
  if (!isObject(cluster) || !id(cluster.id) || !optText(cluster.region, 1, 64) || typeof cluster.country !== 'string' || !COUNTRY.test(cluster.country)) return false;
  if (!isObject(accelerator) || !text(accelerator.model, 1, 128)) return false;
  const count = accelerator.count;
  if (!isNumber(count) || count < 0.001 || count > MAX_ACCELERATORS || !wholeThousandths(count)) return false;
  if (!isObject(interval) || !timestamp(interval.start) || !timestamp(interval.end)) return false;
  if (!PRECISION_SET.has(d.precision)) return false;
  if (utilization !== undefined) {
    if (!isObject(utilization)) return false;
    const t = utilization.tensorActive;
    if (t !== undefined && !(isNumber(t) && t >= 0 && t <= 1)) return false;
  }
  if (operations !== undefined && operations !== null && !(isNumber(operations) && operations >= 0 && operations <= MAX_OPERATIONS)) return false;
  if (lineage !== undefined) {
    if (!isObject(lineage) || !id(lineage.id)) return false;
    if (lineage.parentId !== undefined && lineage.parentId !== null && !id(lineage.parentId)) return false;
    if (!optText(lineage.checkpointIn, 1, 256) || !optText(lineage.checkpointOut, 1, 256)) return false;
  }
  return labels(d.labels);
}

/** Whether `usageEventSchema` accepts this parsed JSON (the verdict only; zod describes a refusal). */
export function isUsageEvent(e: unknown): boolean {
  if (!isObject(e)) return false;
  if (e.specversion !== '1.0' || e.type !== USAGE_EVENT_TYPE || !text(e.source, 1, 256) || !text(e.id, 1, 256)) return false;
  if ((e.time !== undefined && !timestamp(e.time)) || !optText(e.subject, 1, 128)) return false;
  if (e.datacontenttype !== undefined && e.datacontenttype !== 'application/json') return false;
  return data(e.data);
}

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
const digit = (s: string, i: number) => s.charCodeAt(i) - 48;
const two = (s: string, i: number) => digit(s, i) * 10 + digit(s, i + 1);

/**
 * Epoch milliseconds of a timestamp the contract accepted (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`),
 * without a Date: the same figure as `Date.parse`, fraction truncated to the millisecond as V8 does
 * (test/usage-check.test.ts checks it against Date.parse). Only for strings that passed the pattern.
 */
export function timestampMs(s: string): number {
  const year = digit(s, 0) * 1000 + digit(s, 1) * 100 + two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  // Days since 1970-01-01 of January 1st of `year` (proleptic Gregorian, as ECMAScript's DayFromYear).
  const days = 365 * (year - 1970) + Math.floor((year - 1969) / 4) - Math.floor((year - 1901) / 100) + Math.floor((year - 1601) / 400)
    + DAYS_BEFORE_MONTH[month - 1]! + (leap && month > 2 ? 1 : 0) + day - 1;
  let ms = ((days * 24 + two(s, 11)) * 60 + two(s, 14)) * 60_000 + two(s, 17) * 1000;
  let i = 19;
  if (s.charCodeAt(i) === 46 /* . */) {
    let scale = 100;
    for (i++; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      if (scale >= 1) ms += (c - 48) * scale;
      scale /= 10;
    }
    // V8 reads at most 9 significant digits of a fraction and scales them oddly past that
    // ("…00.0001000000Z" is 1 ms): leave the rare long fraction to Date.parse itself.
    if (i - 20 > 9) return Date.parse(s);
  }
  const sign = s.charCodeAt(i);
  if (sign === 43 /* + */ || sign === 45 /* - */) {
    const offset = (two(s, i + 1) * 60 + two(s, i + 4)) * 60_000;
    ms += sign === 43 ? -offset : offset;
  }
  return ms;
}
