import { z } from 'zod';

// An empty variable (FOO=) counts as unset, so its default applies.
const unsetIfEmpty = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

/** A boolean variable: true/false, 1/0, yes/no, on/off (any case). */
export function envBoolean(defaultValue?: boolean) {
  const base = z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => TRUE.includes(v) || FALSE.includes(v), { message: 'expected one of true/false, 1/0, yes/no, on/off' })
    .transform((v) => TRUE.includes(v));
  return z.preprocess(unsetIfEmpty, defaultValue === undefined ? base : base.default(defaultValue));
}

export interface EnvIntOptions {
  min?: number;
  max?: number;
  default?: number;
}

/** An integer variable within [min, max]. */
export function envInt(options: EnvIntOptions = {}) {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  const base = z
    .string()
    .trim()
    .regex(/^[+-]?\d+$/, { message: 'expected an integer' })
    .transform(Number)
    .pipe(z.number().int().min(min, { message: `must be >= ${min}` }).max(max, { message: `must be <= ${max}` }));
  return z.preprocess(unsetIfEmpty, options.default === undefined ? base : base.default(options.default));
}

export interface EnvListOptions<T> {
  default?: T[];
  /** Schema of one item (default: a non-empty string). */
  item?: z.ZodType<T, string>;
  min?: number;
}

/** A comma-separated list; items are trimmed and empty items dropped. */
export function envList<T = string>(options: EnvListOptions<T> = {}) {
  const item = options.item ?? (z.string() as unknown as z.ZodType<T, string>);
  const min = options.min ?? 1;
  const base = z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
    .pipe(z.array(item).min(min, { message: `expected at least ${min} comma-separated item${min === 1 ? '' : 's'}` }));
  return z.preprocess(unsetIfEmpty, options.default === undefined ? base : base.default(options.default));
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?\s*$/i;

/**
 * A duration in milliseconds (rounded): `250ms`, `5s`, `2m`, `1h`, `1d`, `2w`, any case, decimals allowed;
 * a bare number is milliseconds unless `unitRequired`. Null when `text` is not one. The one parser of
 * durations: configuration, retry schedules, scenarios and command-line flags.
 */
export function parseDuration(text: string, options: { unitRequired?: boolean } = {}): number | null {
  const m = DURATION.exec(text);
  if (!m || (options.unitRequired && m[2] === undefined)) return null;
  return Math.round(Number(m[1]) * (UNIT_MS[(m[2] ?? 'ms').toLowerCase()] ?? 1));
}

export interface EnvDurationOptions {
  min?: number;
  max?: number;
  /** Default in milliseconds. */
  default?: number;
}

/** A duration in milliseconds: `250ms`, `5s`, `2m`, `1h`, `1d`, or a bare number of milliseconds. */
export function envDuration(options: EnvDurationOptions = {}) {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = options;
  const base = z
    .string()
    .trim()
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === null) ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 5s, 2m, 1h, 1d' });
      return ms ?? z.NEVER;
    })
    .pipe(z.number().min(min, { message: `must be at least ${min} ms` }).max(max, { message: `must be at most ${max} ms` }));
  return z.preprocess(unsetIfEmpty, options.default === undefined ? base : base.default(options.default));
}
