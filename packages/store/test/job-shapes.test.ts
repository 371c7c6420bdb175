import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, freshPrefix, testRedis } from '@flopwatch/test-harness';
import { createStore, shapeOf } from '../src/index.js';

// The co-scheduling record over real Redis: a job's first and last minute whatever the order its
// reports arrive in, its shape as first seen, and retention as the analysis reads.

const redis = testRedis();
const prefix = freshPrefix('jobshapes');
const store = createStore({ redis, prefix });
afterAll(async () => {
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

const MIN = 60_000;
const report = (tenantId: string, job: string, startMin: number, endMin: number, milliGpus = 8000) =>
  ({ tenantId, jobKey: `cl-9/${job}`, startMs: startMin * MIN + 5_000, endMs: endMin * MIN + 5_000, acceleratorId: 'nvidia-h100-sxm5-80gb', milliGpus });

describe('job shapes', () => {
  it('keeps each job once with its earliest start, latest end and first shape across batches in any order; drops what the lookback leaves behind', async () => {
    // Batch 1: the job's middle hours (two reports fold into one entry); batch 2: its first and last.
    expect(await store.jobShapes.record([report('a', 'j1', 100_060, 100_120), report('a', 'j1', 100_120, 100_180)])).toBe(1);
    expect(await store.jobShapes.record([report('a', 'j1', 100_000, 100_060, 16_000), report('a', 'j1', 100_180, 100_240), report('b', 'j2', 100_001, 100_241, 500)])).toBe(2);
    expect(await store.jobShapes.record([report('a', 'old', 80_000, 80_030)])).toBe(1);
    // A long job started with the old one and still running: its end keeps it.
    expect(await store.jobShapes.record([report('c', 'long', 80_000, 80_060), report('c', 'long', 100_050, 100_110)])).toBe(1);
    expect(await store.jobShapes.clusters()).toEqual(['cl-9']);
    const jobs = (await store.jobShapes.jobs('cl-9')).sort((x, y) => x.startMin - y.startMin || x.jobId.localeCompare(y.jobId));
    expect(jobs).toEqual([
      { tenantId: 'c', jobId: 'long', startMin: 80_000, endMin: 100_110, shape: 'nvidia-h100-sxm5-80gb×8' },
      { tenantId: 'a', jobId: 'old', startMin: 80_000, endMin: 80_030, shape: 'nvidia-h100-sxm5-80gb×8' },
      { tenantId: 'a', jobId: 'j1', startMin: 100_000, endMin: 100_240, shape: 'nvidia-h100-sxm5-80gb×8' },
      { tenantId: 'b', jobId: 'j2', startMin: 100_001, endMin: 100_241, shape: 'nvidia-h100-sxm5-80gb×0.500' },
    ]);
    expect(shapeOf('x', 2500)).toBe('x×2.500');
    // A 7-day lookback back from the latest start (100,001) (100,001 − 7 × 1,440 = 89,921) leaves out and drops the job that ended at minute 80,030.
    const { clusters } = await store.behaviourLinks.inputs(7);
    expect(clusters['cl-9']!.map((j) => j.jobId).sort()).toEqual(['j1', 'j2']);
    expect((await store.jobShapes.jobs('cl-9')).map((j) => j.jobId).sort()).toEqual(['j1', 'j2', 'long']);
    // Another process (its own memory of what was written) reads the same record.
    expect((await createStore({ redis, prefix }).jobShapes.jobs('cl-9', 100_000)).map((j) => [j.jobId, j.startMin, j.endMin]).sort()).toEqual([['j1', 100_000, 100_240], ['j2', 100_001, 100_241]]);
  });
});
