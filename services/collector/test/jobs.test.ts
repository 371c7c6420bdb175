import { describe, expect, it } from 'vitest';
import { gpusFromGresDetail, readJob } from '../src/slurm/jobs.js';

describe('readJob', () => {
  it('reads a v0.0.38 job as Slurm 22.05 serves it', () => {
    // Fields copied from a real slurmrestd 22.05.8 answer (the test harness' single-node cluster).
    const job = readJob({ account: 'tenant-a', cluster: 'fwcc00', partition: 'gpu', job_id: 1, job_state: 'RUNNING', start_time: 1795962353, end_time: 1827498353, nodes: 'fwnode1', gres_detail: ['gpu:h100:4(IDX:0-3)'], tres_alloc_str: 'cpu=1,node=1,billing=1' });
    expect(job).toEqual({ jobId: '1', account: 'tenant-a', cluster: 'fwcc00', partition: 'gpu', state: 'RUNNING', startMs: 1795962353000, gpus: 4, nodes: 'fwnode1' });
  });

  it('reads v0.0.39+ numbers wrapped as { set, infinite, number } and v0.0.40+ state lists', () => {
    const job = readJob({ account: 'acct', cluster: 'c', partition: 'p', job_id: { set: true, infinite: false, number: 77 }, job_state: ['RUNNING', 'CONFIGURING'], start_time: { set: true, infinite: false, number: 1700000000 }, nodes: 'n[1-2]', tres_alloc_str: 'cpu=128,node=2,billing=128,gres/gpu=16,gres/gpu:h100=16' });
    expect(job).toMatchObject({ jobId: '77', state: 'RUNNING', startMs: 1_700_000_000_000, gpus: 16 });
    expect(readJob({ job_id: 3, job_state: ['PENDING'], start_time: { set: false, infinite: false, number: 0 } })).toMatchObject({ state: 'PENDING', startMs: undefined, gpus: 0 });
  });

  it('sums gres_detail over nodes, and reads untyped and multi-gres entries', () => {
    expect(gpusFromGresDetail(['gpu:h100:8(IDX:0-7)', 'gpu:h100:8(IDX:0-7)'])).toBe(16);
    expect(gpusFromGresDetail(['gpu:2(IDX:0,2)'])).toBe(2);
    expect(gpusFromGresDetail(['gpu:a100:2(IDX:0-1),shard:4(0/4,0/4)'])).toBe(2);
    expect(gpusFromGresDetail([''])).toBeUndefined();
    expect(gpusFromGresDetail(undefined)).toBeUndefined();
  });
});
