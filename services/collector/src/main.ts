// Composition root of the collector: config → logger → mappings → clients → createCollector → start; close on signal.
import { kafkaDriver } from '@flopwatch/kafka';
import { catalogOf, loadPolicyPack } from '@flopwatch/policy';
import { connectInfra, createMetricsRegistry, redactConfig, startOpsServer, startService } from '@flopwatch/runtime';
import { createStore, redisDriver } from '@flopwatch/store';
import { createCollector } from './app.js';
import { collectorConfigSchema } from './config.js';
import { createTargetList } from './dcgm/targets.js';
import { createDnsTargets, joinTargetLists, parseDnsTarget } from './dns-sd.js';
import { loadSlurmMapping, loadTenantMapping } from './mapping.js';
import { createSlurmrestdClient } from './slurm/client.js';

const service = startService({ name: 'collector', schema: collectorConfigSchema, env: process.env });
const { config, log, shutdown } = service;

await service.run(async () => {
  const pack = loadPolicyPack(config.POLICY_FILE);
  // The schema requires both files whenever a source is on, and it refuses a start with none on.
  const tenants = loadTenantMapping(config.TENANT_MAPPING_FILE!);
  const mapping = loadSlurmMapping(config.SLURM_MAPPING_FILE!);
  const dcgmOn = config.DCGM_TARGETS.length > 0 || config.DCGM_FILE_SD !== undefined || config.DCGM_DNS_SD.length > 0;
  const dcgmCluster = dcgmOn ? mapping.clusters[config.DCGM_CLUSTER!] : undefined;
  if (dcgmOn && !dcgmCluster) throw new Error(`DCGM_CLUSTER "${config.DCGM_CLUSTER}" has no entry under clusters in ${config.SLURM_MAPPING_FILE}`);
  log.info({ config: redactConfig(config), policyVersion: pack.version }, 'starting');

  const { redis, kafka } = await connectInfra(service, { redis: redisDriver, kafka: kafkaDriver });
  const metricsRegistry = createMetricsRegistry({ service: 'collector' });
  // Exporters behind DNS names (a headless Service): resolved before the first round, then every round.
  const dns = config.DCGM_DNS_SD.length > 0 ? createDnsTargets({ targets: config.DCGM_DNS_SD.map(parseDnsTarget), intervalMs: config.DCGM_SCRAPE_INTERVAL, log }) : null;
  if (dns) {
    shutdown.add('dcgm-dns-sd', () => dns.close());
    await dns.refresh();
  }
  const collector = createCollector({
    kafka,
    slurmMarks: createStore({ redis, prefix: config.REDIS_PREFIX }).slurmMarks,
    metricsRegistry,
    log,
    topic: { name: config.TELEMETRY_TOPIC, partitions: config.TOPIC_PARTITIONS },
    dcgm: dcgmCluster
      ? {
          targets: joinTargetLists(createTargetList({ urls: config.DCGM_TARGETS, fileSd: config.DCGM_FILE_SD, log }), ...(dns ? [dns] : [])),
          scrapeIntervalMs: config.DCGM_SCRAPE_INTERVAL,
          periodMs: config.DCGM_REPORT_PERIOD,
          scrapeTimeoutMs: config.DCGM_SCRAPE_TIMEOUT,
          cluster: { id: config.DCGM_CLUSTER!, ...dcgmCluster },
          slurmClusters: mapping.clusters,
          precision: config.DCGM_PRECISION,
          tenants,
          catalog: catalogOf(pack),
          unsentMax: config.DCGM_UNSENT_MAX,
          unsentMaxAgeMs: config.DCGM_UNSENT_MAX_AGE,
        }
      : null,
    slurm: config.SLURMRESTD_URL
      ? {
          client: createSlurmrestdClient({
            url: config.SLURMRESTD_URL,
            apiVersion: config.SLURMRESTD_API_VERSION,
            user: config.SLURMRESTD_USER,
            token: config.SLURMRESTD_TOKEN_FILE ? { file: config.SLURMRESTD_TOKEN_FILE } : { value: config.SLURMRESTD_TOKEN! },
            timeoutMs: config.SLURMRESTD_TIMEOUT,
            accounting: config.SLURMRESTD_ACCOUNTING,
          }),
          minJobAgeMs: config.SLURM_MIN_JOB_AGE,
          mapping,
          tenants,
          emitJobs: config.SLURM_EMIT_JOBS,
          maxIntervalMs: pack.limits.maxIntervalSeconds * 1000,
          pollIntervalMs: config.SLURM_POLL_INTERVAL,
        }
      : null,
  });
  const ops = await startOpsServer({ host: config.OPS_HOST, port: config.OPS_PORT, registry: metricsRegistry, isReady: () => collector.readiness(), log });
  shutdown.add('ops-server', () => ops.close());
  // A crash runs this step too: the open DCGM period is sent before the process exits.
  shutdown.add('collector', () => collector.close());
  await collector.start();
});
