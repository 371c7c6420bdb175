import { describe, expect, it } from 'vitest';
import { gpusFromGresDetail, readJob, runEndMs } from '../src/slurm/jobs.js';

describe('readJob', () => {
  it('reads a v0.0.38 job as Slurm 22.05 serves it', () => {
    // Fields copied from a real slurmrestd 22.05.8 answer (the test harness' single-node cluster).
    const job = readJob({ account: 'tenant-a', cluster: 'fwcc00', partition: 'gpu', job_id: 1, job_state: 'RUNNING', start_time: 1795962353, end_time: 1827498353, nodes: 'fwnode1', gres_detail: ['gpu:h100:4(IDX:0-3)'], tres_alloc_str: 'cpu=1,node=1,billing=1' });
    expect(job).toEqual({
      jobId: '1', account: 'tenant-a', cluster: 'fwcc00', partition: 'gpu', state: 'RUNNING', startMs: 1795962353000,
      // A running job's end_time is its time limit: not an end.
      endMs: undefined, suspendMs: undefined, preSuspendMs: 0,
      gpus: 4, nodes: 'fwnode1', perNode: [{ node: 'fwnode1', gpus: 4 }],
    });
    expect(runEndMs(job!, 1795962400_000)).toBe(1795962400_000);
  });

  it('reads an ended job, whose gres_detail Slurm has emptied, from its GPU request', () => {
    // As slurmrestd 22.05.8 lists a job cancelled after a suspension (suspended at …583 after 1 s, resumed at …586, cancelled at …588).
    const raw = { account: 'x', cluster: 'probe', partition: 'gpu', job_id: 2, job_state: 'CANCELLED', start_time: 1796551582, end_time: 1796551588, suspend_time: 1796551586, pre_sus_time: 1, nodes: 'fwnode1', node_count: 1, gres_detail: [], tres_alloc_str: 'cpu=1,node=1,billing=1', tres_per_node: 'gres:gpu:h100:2', tasks: 1 };
    const job = readJob(raw)!;
    expect(job).toMatchObject({ state: 'CANCELLED', startMs: 1796551582_000, endMs: 1796551588_000, suspendMs: 1796551586_000, preSuspendMs: 1000, gpus: 2, perNode: [{ node: 'fwnode1', gpus: 2 }] });
    // scontrol's RunTime: 1 s before the suspension + 2 s after the resume.
    expect(runEndMs(job, Date.now())).toBe(1796551582_000 + 3_000);
    // Requests per job, per node over several nodes, per task.
    expect(readJob({ ...raw, nodes: 'g[1-3]', node_count: 3, tres_per_node: 'gres/gpu:4' })).toMatchObject({ gpus: 12, perNode: [{ node: 'g1', gpus: 4 }, { node: 'g2', gpus: 4 }, { node: 'g3', gpus: 4 }] });
    expect(readJob({ ...raw, nodes: 'g[1-3]', tres_per_node: '', tres_per_job: 'gres:gpu:5' })).toMatchObject({ gpus: 5, perNode: [{ node: 'g1', gpus: 1.667 }, { node: 'g2', gpus: 1.667 }, { node: 'g3', gpus: 1.666 }] });
    expect(readJob({ ...raw, tres_per_node: '', tasks: 4, tres_per_task: 'gres:gpu:1' })).toMatchObject({ gpus: 4 });
    expect(readJob({ ...raw, tres_per_node: '', tres_per_socket: 'gres:gpu:1' })).toMatchObject({ gpus: undefined, perNode: undefined });
    // With AccountingStorageTRES=gres/gpu the allocation itself is kept.
    expect(readJob({ ...raw, tres_alloc_str: 'cpu=1,node=1,billing=1,gres/gpu=3', tres_per_node: 'gres:gpu:h100:2' })).toMatchObject({ gpus: 3 });
  });

  it('lays a suspended job\'s run time from its start, without the suspended time', () => {
    const base = { account: 'x', cluster: 'c', partition: 'gpu', job_id: 9, start_time: 1000, end_time: 99999, nodes: 'n1', gres_detail: ['gpu:h100:1(IDX:0)'] };
    // Suspended at 1010 after running 10 s: its run ends at start + 10 s, however long it stays suspended.
    const suspended = readJob({ ...base, job_state: 'SUSPENDED', suspend_time: 1010, pre_sus_time: 10 })!;
    expect(runEndMs(suspended, 2_000_000)).toBe(1_010_000);
    // Resumed at 1050: 10 s, plus the time since the resume.
    const resumed = readJob({ ...base, job_state: 'RUNNING', suspend_time: 1050, pre_sus_time: 10 })!;
    expect(runEndMs(resumed, 1_060_000)).toBe(1_000_000 + 20_000);
    // Never suspended: its wall-clock time; pending or ended without an end: nothing.
    expect(runEndMs(readJob({ ...base, job_state: 'COMPLETED', end_time: 1042 })!, 5_000_000)).toBe(1_042_000);
    expect(runEndMs(readJob({ ...base, job_state: 'PENDING' })!, 5_000_000)).toBeUndefined();
    expect(runEndMs(readJob({ ...base, job_state: 'FAILED', end_time: 0 })!, 5_000_000)).toBeUndefined();
    // As slurmrestd 22.05.8 lists a job just requeued: COMPLETING, its start reset, its end at the time limit.
    const requeued = readJob({ ...base, job_state: 'COMPLETING', start_time: 1796553542, end_time: 6091520778 })!;
    expect(runEndMs(requeued, 1796553543_000)).toBeUndefined();
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
