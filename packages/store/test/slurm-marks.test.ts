import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { dropPrefix, freshPrefix, redisUrl } from '@flopwatch/test-harness';
import { createKeys, createStore } from '../src/index.js';

const redis = new Redis(redisUrl());
const prefix = freshPrefix('marks');
const marks = createStore({ redis, prefix }).slurmMarks;
const keys = createKeys(prefix);
afterAll(async () => {
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

describe('the Slurm marks facade', () => {
  it('keeps marks per cluster: written, read, counted and dropped, an empty write or drop touching nothing', async () => {
    await marks.write('slurm-a', { '1': '{"t":5}', '2': '{"t":7,"d":1}' });
    await marks.write('slurm-b', { '1': '{"t":9}' });
    await marks.write('slurm-a', {});
    expect(await marks.read('slurm-a')).toEqual({ '1': '{"t":5}', '2': '{"t":7,"d":1}' });
    expect(await marks.count('slurm-b')).toBe(1);
    await marks.drop('slurm-a', ['2']);
    await marks.drop('slurm-a', []);
    expect(await marks.read('slurm-a')).toEqual({ '1': '{"t":5}' });
    expect(await redis.hgetall(keys.collector.slurmMarks('slurm-a'))).toEqual({ '1': '{"t":5}' });
    expect(await marks.read('slurm-none')).toEqual({});
  });

  it("records an endpoint's last poll and reads an unreadable cluster list as none", async () => {
    expect(await marks.lastPoll('https://slurm-1')).toEqual({ atMs: undefined, clusters: [] });
    await marks.recordPoll('https://slurm-1', 1_700_000_000_000, ['slurm-a', 'slurm-b']);
    expect(await marks.lastPoll('https://slurm-1')).toEqual({ atMs: 1_700_000_000_000, clusters: ['slurm-a', 'slurm-b'] });
    await redis.hset(keys.collector.slurmPolled('https://slurm-1'), 'clusters', 'not json');
    expect(await marks.lastPoll('https://slurm-1')).toEqual({ atMs: 1_700_000_000_000, clusters: [] });
  });
});
