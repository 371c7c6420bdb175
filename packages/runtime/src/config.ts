import type { z } from 'zod';
import { AppError } from './errors.js';
import { SECRET_KEY_PATTERN, redactUrls } from './redact.js';

export const CONFIG_ERROR_CODES = ['CONFIG_INVALID'] as const;
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/** One problem with one environment variable. */
export interface ConfigProblem {
  variable: string;
  problem: string;
}

/** Invalid configuration: the message lists every problem, one per line, ready to print. */
export class ConfigError extends AppError<ConfigErrorCode> {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.problem}`);
    super('CONFIG_INVALID', [`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):`, ...lines].join('\n'), {
      retryable: false,
      details: { problems },
    });
    this.problems = problems;
  }
}

export type Env = Record<string, string | undefined>;

/** Parses `env` with `schema` (an object of variables); throws ConfigError listing every problem. */
export function loadConfig<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => describeIssue(issue, env)));
}

function describeIssue(issue: z.core.$ZodIssue, env: Env): ConfigProblem {
  const variable = issue.path.length > 0 ? issue.path.map(String).join('.') : '(environment)';
  const name = issue.path[0];
  const raw = typeof name === 'string' ? env[name] : undefined;
  if (typeof name === 'string' && raw === undefined && issue.code === 'invalid_type') {
    return { variable, problem: 'is required but not set' };
  }
  const shown = raw === undefined || SECRET_KEY_PATTERN.test(variable) ? '' : ` (got ${JSON.stringify(redactUrls(raw))})`;
  return { variable, problem: `${issue.message}${shown}` };
}

/** What exitOnConfigError needs from the process; tests pass their own. */
export interface ExitTarget {
  exit(code: number): void;
  stderr: { write(chunk: string): unknown };
}

/**
 * Runs `load` (usually `() => loadConfig(schema, process.env)`); on a ConfigError prints its message
 * (no stack trace) to stderr and exits 1. Other errors are rethrown. For main.ts only.
 */
export function exitOnConfigError<T>(load: () => T, target: ExitTarget = process): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    target.stderr.write(`${err.message}\n`);
    target.exit(1);
    throw err;
  }
}
