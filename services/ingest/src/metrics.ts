import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The ingest's metrics; names follow Prometheus conventions (base units, _total, _seconds). */
export function createIngestMetrics(registry: Registry) {
  const registers = [registry];
  return {
    consumed: new Counter({ name: 'flopwatch_ingest_messages_consumed_total', help: 'Kafka messages read, by topic.', labelNames: ['topic'], registers }),
    applied: new Counter({ name: 'flopwatch_ingest_events_applied_total', help: 'Usage events counted into Redis for the first time.', labelNames: ['topic'], registers }),
    skipped: new Counter({ name: 'flopwatch_ingest_events_skipped_total', help: 'Usage events skipped because an earlier delivery already counted them.', labelNames: ['topic'], registers }),
    deadLettered: new Counter({ name: 'flopwatch_ingest_dead_lettered_total', help: 'Messages sent to the dead-letter topic, by reason.', labelNames: ['reason'], registers }),
    operations: new Counter({ name: 'flopwatch_operations_counted_total', help: 'Operations counted (estimate and 100 %-utilization upper bound), by hardware tier and accelerator model.', labelNames: ['kind', 'tier', 'model'], registers }),
    gpuSeconds: new Counter({ name: 'flopwatch_gpu_seconds_counted_total', help: 'GPU-seconds counted, by hardware tier and accelerator model.', labelNames: ['tier', 'model'], registers }),
    alerts: new Counter({ name: 'flopwatch_alerts_raised_total', help: 'Alerts raised, by rule and severity.', labelNames: ['rule', 'severity'], registers }),
    batchSize: new Histogram({ name: 'flopwatch_ingest_batch_messages', help: 'Messages per consumed batch.', buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000], registers }),
    batchSeconds: new Histogram({ name: 'flopwatch_ingest_batch_duration_seconds', help: 'Time to process one batch end to end (decode, dead-letter, apply, alerts).', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers }),
    applySeconds: new Histogram({ name: 'flopwatch_ingest_apply_duration_seconds', help: 'Time of the Redis apply step of one batch (all tenant scripts).', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers }),
    redisErrors: new Counter({ name: 'flopwatch_ingest_redis_errors_total', help: 'Failed Redis steps, each retried with backoff.', registers }),
    rebalances: new Counter({ name: 'flopwatch_ingest_rebalances_total', help: 'Consumer-group rebalances this instance went through.', registers }),
    lastApplied: new Gauge({ name: 'flopwatch_ingest_last_applied_timestamp_seconds', help: 'When a batch of this partition was last applied (Unix time).', labelNames: ['topic', 'partition'], registers }),
    lastOffset: new Gauge({ name: 'flopwatch_ingest_last_applied_offset', help: 'Last offset applied, by partition.', labelNames: ['topic', 'partition'], registers }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
