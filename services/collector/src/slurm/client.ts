import { readFileSync } from 'node:fs';
import { CollectorError } from '../errors.js';
import { safeUrl } from '../time.js';
import { readAccountingJob, readJob, type SlurmJob } from './jobs.js';

export interface SlurmrestdOptions {
  url: string;
  /** OpenAPI plugin version, e.g. v0.0.38 (Slurm 22.05), v0.0.39, v0.0.40, v0.0.41. */
  apiVersion: string;
  user: string;
  /** The JWT, or a file holding it (re-read on every call, so a rotated token is picked up). */
  token: { value: string } | { file: string };
  timeoutMs: number;
  /** slurmrestd also serves `/slurmdb/<apiVersion>/jobs` (its Slurm has slurmdbd, slurmrestd loads `openapi/dbv…`). */
  accounting?: boolean;
}

export interface SlurmrestdClient {
  /** The base URL, as metrics label it. */
  endpoint: string;
  /** Every job slurmctld knows, read through `GET /slurm/<version>/jobs`. */
  jobs(): Promise<SlurmJob[]>;
  /**
   * Jobs slurmdbd recorded as active at some time in the last `windowMs` (`GET /slurmdb/<version>/jobs
   * ?start_time=now-<seconds>`; relative, so slurmrestd's time zone does not matter). Present only
   * when `accounting` is on.
   */
  accountingJobs?: (windowMs: number) => Promise<SlurmJob[]>;
}

export function createSlurmrestdClient(options: SlurmrestdOptions): SlurmrestdClient {
  const base = options.url.replace(/\/+$/, '');
  const token = () => ('value' in options.token ? options.token.value : readFileSync(options.token.file, 'utf8').trim());

  async function get(path: string, what: string): Promise<unknown[]> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        headers: { 'X-SLURM-USER-NAME': options.user, 'X-SLURM-USER-TOKEN': token(), accept: 'application/json' },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (cause) {
      throw new CollectorError('SLURMRESTD_UNREACHABLE', `slurmrestd did not answer (${what}): ${(cause as Error).message}`, { retryable: true, cause });
    }
    const text = await res.text();
    if (!res.ok) {
      throw new CollectorError('SLURMRESTD_HTTP', `slurmrestd answered HTTP ${res.status} (${what})`, { retryable: res.status >= 500 || res.status === 429, details: { body: text.slice(0, 300) } });
    }
    let body: { jobs?: unknown; errors?: { error?: string; description?: string }[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch (cause) {
      throw new CollectorError('SLURMRESTD_BAD_RESPONSE', `slurmrestd answered with something other than JSON (${what})`, { retryable: true, cause });
    }
    // A listing with errors may be partial; acting on it could end jobs' marks, so it is refused.
    if (body.errors && body.errors.length > 0) {
      throw new CollectorError('SLURMRESTD_ERROR', `slurmrestd reported (${what}): ${body.errors.map((e) => e.description ?? e.error).join('; ')}`, { retryable: true });
    }
    if (!Array.isArray(body.jobs)) throw new CollectorError('SLURMRESTD_BAD_RESPONSE', `slurmrestd answer has no jobs list (${what})`, { retryable: true });
    return body.jobs;
  }

  const records = (list: unknown[]) => list.filter((j): j is Record<string, unknown> => j !== null && typeof j === 'object');
  return {
    endpoint: safeUrl(options.url),
    async jobs() {
      return records(await get(`/slurm/${options.apiVersion}/jobs`, 'jobs')).map(readJob).filter((j): j is SlurmJob => j !== null);
    },
    ...(options.accounting
      ? {
          async accountingJobs(windowMs: number) {
            const seconds = Math.max(1, Math.ceil(windowMs / 1000));
            return records(await get(`/slurmdb/${options.apiVersion}/jobs?start_time=now-${seconds}`, 'slurmdb jobs')).map(readAccountingJob).filter((j): j is SlurmJob => j !== null);
          },
        }
      : {}),
  };
}
