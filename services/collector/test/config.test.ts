import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@flopwatch/runtime';
import { collectorConfigSchema } from '../src/config.js';

const files = { TENANT_MAPPING_FILE: '/etc/flopwatch/tenants.yaml', SLURM_MAPPING_FILE: '/etc/flopwatch/slurm.yaml' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(collectorConfigSchema, env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.variable}: ${p.problem}`);
  }
}

describe('collector config', () => {
  it('refuses to start with no source on', () => {
    expect(problems({})).toEqual([expect.stringMatching(/^DCGM_TARGETS: no source is on/)]);
  });

  it('names every variable a DCGM source needs', () => {
    expect(problems({ DCGM_TARGETS: 'node1:9400' })).toEqual([
      expect.stringMatching(/^TENANT_MAPPING_FILE: is required/),
      expect.stringMatching(/^SLURM_MAPPING_FILE: is required/),
      expect.stringMatching(/^DCGM_CLUSTER: is required/),
    ]);
    expect(problems({ ...files, DCGM_TARGETS: 'node1:9400', DCGM_CLUSTER: 'c', DCGM_SCRAPE_INTERVAL: '15s', DCGM_REPORT_PERIOD: '50s' })).toEqual([expect.stringMatching(/^DCGM_REPORT_PERIOD: must be a whole number/)]);
  });

  it('refuses a scrape timeout that does not fit in one scrape interval', () => {
    const dcgm = { ...files, DCGM_TARGETS: 'node1:9400', DCGM_CLUSTER: 'c', DCGM_SCRAPE_INTERVAL: '2s', DCGM_REPORT_PERIOD: '10s' };
    // The default timeout (10 s) is longer than a 2 s interval.
    expect(problems(dcgm)).toEqual([expect.stringMatching(/^DCGM_SCRAPE_TIMEOUT: must be shorter than DCGM_SCRAPE_INTERVAL \(2000 ms\)/)]);
    expect(problems({ ...dcgm, DCGM_SCRAPE_TIMEOUT: '2s' })).toEqual([expect.stringMatching(/^DCGM_SCRAPE_TIMEOUT: must be shorter/)]);
    expect(loadConfig(collectorConfigSchema, { ...dcgm, DCGM_SCRAPE_TIMEOUT: '1500ms' })).toMatchObject({ DCGM_SCRAPE_TIMEOUT: 1_500, DCGM_UNSENT_MAX: 100_000, DCGM_UNSENT_MAX_AGE: 300_000 });
  });

  it('needs a token with slurmrestd and reads durations and versions', () => {
    expect(problems({ ...files, SLURMRESTD_URL: 'http://head:6820' })).toEqual([expect.stringMatching(/^SLURMRESTD_TOKEN_FILE: /)]);
    expect(problems({ ...files, SLURMRESTD_URL: 'http://head:6820', SLURMRESTD_TOKEN_FILE: '/t', SLURMRESTD_API_VERSION: '0.0.38' })).toEqual([expect.stringMatching(/^SLURMRESTD_API_VERSION: /)]);
    const config = loadConfig(collectorConfigSchema, { ...files, SLURMRESTD_URL: 'http://head:6820', SLURMRESTD_TOKEN_FILE: '/t', DCGM_FILE_SD: '/sd.json', DCGM_CLUSTER: 'c' });
    expect(config).toMatchObject({ SLURMRESTD_API_VERSION: 'v0.0.38', SLURM_POLL_INTERVAL: 30_000, DCGM_SCRAPE_INTERVAL: 15_000, DCGM_REPORT_PERIOD: 60_000, SLURM_EMIT_JOBS: true, OPS_PORT: 9467 });
  });
});
