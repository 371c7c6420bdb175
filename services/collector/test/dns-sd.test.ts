// DCGM_DNS_SD against the machine's real resolver: `localhost` resolves (getaddrinfo, as a headless
// Service name does in a pod), a name under `.invalid` never does (RFC 6761).
import { lookup } from 'node:dns/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@flopwatch/runtime';
import { collectorConfigSchema } from '../src/config.js';
import { createDnsTargets, joinTargetLists, parseDnsTarget } from '../src/dns-sd.js';
import { createTargetList } from '../src/dcgm/targets.js';

const silent = pino({ level: 'silent' });

describe('DCGM_DNS_SD', () => {
  it('parses name:port and refuses anything else, naming the entry', () => {
    expect(parseDnsTarget('nvidia-dcgm-exporter.gpu-operator.svc:9400')).toEqual({ name: 'nvidia-dcgm-exporter.gpu-operator.svc', port: 9400 });
    expect(() => parseDnsTarget('http://node:9400')).toThrow('"http://node:9400" is not name:port');
    expect(() => parseDnsTarget('node:70000')).toThrow('"node:70000" is not name:port');
    expect(() => parseDnsTarget('node')).toThrow('"node" is not name:port');
    const files = { TENANT_MAPPING_FILE: '/t.yaml', SLURM_MAPPING_FILE: '/s.yaml', DCGM_CLUSTER: 'c' };
    expect(loadConfig(collectorConfigSchema, { ...files, DCGM_DNS_SD: 'dcgm:9400' }).DCGM_DNS_SD).toEqual(['dcgm:9400']);
    expect(() => loadConfig(collectorConfigSchema, { ...files, DCGM_DNS_SD: 'dcgm' })).toThrow(/DCGM_DNS_SD: "dcgm" is not name:port/);
    // DNS names alone turn the DCGM source on, so its cluster is required.
    expect(() => loadConfig(collectorConfigSchema, { TENANT_MAPPING_FILE: '/t.yaml', SLURM_MAPPING_FILE: '/s.yaml', DCGM_DNS_SD: 'dcgm:9400' })).toThrow(/DCGM_CLUSTER: is required/);
  });

  it('scrapes every IPv4 address the name resolves to, on the given port', async () => {
    // The truth: what the system resolver answers for localhost, independently of the module.
    const expected = [...new Set((await lookup('localhost', { all: true, family: 4 })).map((a) => `http://${a.address}:9400/metrics`))].sort();
    expect(expected.length).toBeGreaterThan(0);
    const dns = createDnsTargets({ targets: [parseDnsTarget('localhost:9400')], intervalMs: 60_000, log: silent });
    try {
      expect(dns.current()).toEqual([]);
      await dns.refresh();
      expect(dns.current()).toEqual(expected);
    } finally {
      dns.close();
    }
  });

  it('keeps nothing from a name that does not resolve, and keeps the names that do', async () => {
    const dns = createDnsTargets({ targets: [parseDnsTarget('no-such-exporter.invalid:9400'), parseDnsTarget('localhost:9500')], intervalMs: 60_000, log: silent });
    try {
      await dns.refresh();
      expect(dns.current().every((u) => /^http:\/\/[\d.]+:9500\/metrics$/.test(u))).toBe(true);
      expect(dns.current().length).toBeGreaterThan(0);
    } finally {
      dns.close();
    }
  });

  it('joins with DCGM_TARGETS, each URL once', async () => {
    const dns = createDnsTargets({ targets: [parseDnsTarget('127.0.0.1:9400')], intervalMs: 60_000, log: silent });
    try {
      await dns.refresh();
      const fixed = createTargetList({ urls: ['127.0.0.1:9400', 'node-b:9400'], log: silent });
      expect(joinTargetLists(fixed, dns).current()).toEqual(['http://127.0.0.1:9400/metrics', 'http://node-b:9400/metrics']);
    } finally {
      dns.close();
    }
  });
});
