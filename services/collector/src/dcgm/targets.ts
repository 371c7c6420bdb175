import { readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { parse } from 'yaml';
import { z } from 'zod';

// Prometheus file_sd: a list of target groups; `__scheme__` and `__metrics_path__` labels are honoured.
const fileSdSchema = z.array(
  z.object({
    targets: z.array(z.string().min(1)),
    labels: z.record(z.string(), z.string()).optional(),
  }),
);

export interface TargetList {
  /** The exporter URLs to scrape now; the file is re-read when its modification time changes. */
  current(): string[];
}

/** Turns `host:port` (file_sd style) into a URL; a full URL is kept as it is. */
export function targetUrl(target: string, labels: Record<string, string> = {}): string {
  if (/^https?:\/\//.test(target)) return target;
  return `${labels.__scheme__ ?? 'http'}://${target}${labels.__metrics_path__ ?? '/metrics'}`;
}

/**
 * Static URLs plus the targets of a Prometheus file_sd file (JSON or YAML). A file that cannot be read
 * or parsed keeps the previous list, with a warning, so a half-written file never drops every node.
 */
export function createTargetList(options: { urls: string[]; fileSd?: string | undefined; log: Logger; onFileError?: () => void }): TargetList {
  const fixed = options.urls.map((u) => targetUrl(u));
  let fromFile: string[] = [];
  let seenMtime = -1;

  function reload(path: string) {
    let mtime: number;
    try {
      mtime = statSync(path).mtimeMs;
    } catch (err) {
      if (seenMtime !== -2) options.log.warn({ err: (err as Error).message, path }, 'DCGM file_sd file unreadable; keeping the previous targets');
      seenMtime = -2;
      options.onFileError?.();
      return;
    }
    if (mtime === seenMtime) return;
    try {
      const groups = fileSdSchema.parse(parse(readFileSync(path, 'utf8')));
      fromFile = groups.flatMap((g) => g.targets.map((t) => targetUrl(t, g.labels)));
      seenMtime = mtime;
      options.log.info({ path, targets: fromFile.length }, 'DCGM targets loaded');
    } catch (err) {
      options.log.warn({ err: (err as Error).message, path }, 'DCGM file_sd file invalid; keeping the previous targets');
      options.onFileError?.();
    }
  }

  return {
    current() {
      if (options.fileSd) reload(options.fileSd);
      return [...new Set([...fixed, ...fromFile])];
    },
  };
}
