// The replay's expected books, computed straight from the CSV rows with the documented rules and the
// catalog's peaks — not from the converter's events — so a bug in the converter or the pipeline shows.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { densePeakFlops, findAccelerator } from '@flopwatch/catalog';
import type { Precision } from '@flopwatch/contracts';
import { countedTeraOps, teraOpsPerMs } from '@flopwatch/store';

export interface ExpectedBooks {
  teraOps: number;
  gpuMicroseconds: number;
}

export interface GroundTruthOptions {
  tenants: number;
  intervalSeconds: number;
  precision: Precision;
  utilization: number;
  /** Catalog id used for every pod: the pod list names no model (gpu_spec is empty throughout). */
  acceleratorId: string;
}

export function readRows(path: string, from: number, count: number): Record<string, string>[] {
  const rows = parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  return rows.slice(from, from + count);
}

/** Per tenant: GPU-microseconds and tera-operations, rounded per reported interval as the books round. */
export function expectedBooks(rows: Record<string, string>[], opts: GroundTruthOptions): Map<string, ExpectedBooks> {
  const accelerator = findAccelerator(opts.acceleratorId);
  if (!accelerator) throw new Error(`${opts.acceleratorId} is not in the catalog`);
  const peak = densePeakFlops(accelerator, opts.precision);
  const out = new Map<string, ExpectedBooks>();
  for (const row of rows) {
    if (row.gpu_spec) throw new Error(`pod ${row.name} names a GPU model; this ground truth assumes none does`);
    const milli = Number(row.num_gpu) * Number(row.gpu_milli);
    const start = row.scheduled_time === '' ? NaN : Number(row.scheduled_time);
    const end = row.deletion_time === '' ? NaN : Number(row.deletion_time);
    if (milli === 0 || !(end > start)) continue;
    const tenant = `alibaba-t${String(createHash('sha256').update(row.name!).digest().readUInt32BE(0) % opts.tenants).padStart(2, '0')}`;
    const books = out.get(tenant) ?? { teraOps: 0, gpuMicroseconds: 0 };
    books.gpuMicroseconds += milli * (end - start) * 1000;
    for (let s = start; s < end; s += opts.intervalSeconds) {
      const seconds = Math.min(opts.intervalSeconds, end - s);
      const ms = seconds * 1000;
      // GPUs × seconds × peak × utilization, multiplied in that order: doubles round per step.
      books.teraOps += countedTeraOps(ms, teraOpsPerMs(((milli / 1000) * seconds) * peak * opts.utilization, ms));
    }
    out.set(tenant, books);
  }
  return out;
}
