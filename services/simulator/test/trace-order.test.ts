import { describe, expect, it } from 'vitest';
import { DEFAULT_TRACE_OPTIONS, jobEvents, traceEvents, type TraceJob } from '../src/trace/index.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2023, 0, 1);
const job = (pod: string, tenantId: string, startH: number, endH: number): TraceJob => ({
  pod, tenantId, acceleratorId: 'nvidia-a100-sxm4-80gb', milliGpus: 1000, startMs: T0 + startH * HOUR, endMs: T0 + endH * HOUR, qos: 'LS',
});

describe('trace replay order', () => {
  // A tenant's 60-day service, then a 2-hour job that ran on its first day: job after job, the short
  // job's reports would come 60 days behind the tenant's watermark (beyond the 45-day lateness bound).
  const jobs = [job('svc', 't0', 0, 60 * 24), job('short', 't0', 5, 7), job('other', 't1', 3, 3.5), job('empty', 't1', 9, 9)];
  const options = { ...DEFAULT_TRACE_OPTIONS, intervalSeconds: 3600 };

  it('emits every job event once, in interval-start order across jobs', () => {
    const events = [...traceEvents(jobs, options)];
    const starts = events.map((e) => Date.parse(e.data.interval.start));
    for (let i = 1; i < starts.length; i++) expect(starts[i]).toBeGreaterThanOrEqual(starts[i - 1]!);
    // The same events as job after job, by the jobs' own arithmetic: 1,440 + 2 + 1 hourly reports.
    const byJob = jobs.flatMap((j) => [...jobEvents(j, options)]);
    expect(events).toHaveLength(60 * 24 + 2 + 1);
    expect(events.map((e) => e.id).sort()).toEqual(byJob.map((e) => e.id).sort());
  });

  it('keeps every report of a tenant within an hour of its latest, so none is late', () => {
    let watermark = 0;
    let worst = 0;
    for (const e of traceEvents(jobs, options)) {
      const end = Date.parse(e.data.interval.end);
      worst = Math.max(worst, watermark - end);
      watermark = Math.max(watermark, end);
    }
    expect(worst).toBeLessThanOrEqual(HOUR);
  });
});
