import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CASE_STATUSES, DLQ_REASONS, caseId, type AlertRule, type AlertScope } from '@flopwatch/contracts';
import type { ExposureSnapshot } from './exposure.js';

/** The ingest's metrics; names follow Prometheus conventions (base units, _total, _seconds). */
export function createIngestMetrics(registry: Registry) {
  const registers = [registry];
  const deadLettered = new Counter({ name: 'flopwatch_ingest_dead_lettered_total', help: 'Messages sent to the dead-letter topic, by reason.', labelNames: ['reason'], registers });
  // Every reason exists from the start at 0, so increase() sees a process's first dead letter of a
  // reason (an alert on a series that appears at 1 would never fire).
  for (const reason of DLQ_REASONS) deadLettered.inc({ reason }, 0);
  return {
    consumed: new Counter({ name: 'flopwatch_ingest_messages_consumed_total', help: 'Kafka messages read, by topic.', labelNames: ['topic'], registers }),
    applied: new Counter({ name: 'flopwatch_ingest_events_applied_total', help: 'Usage events that counted time not covered before.', labelNames: ['topic'], registers }),
    covered: zeroed(new Counter({ name: 'flopwatch_ingest_events_covered_total', help: 'Usage events whose time was covered already, in whole (duplicate: a redelivery, a replay, a second producer) or in part (overlap: re-reports).', labelNames: ['reason'], registers })),
    coveredGpuSeconds: zeroed(new Counter({ name: 'flopwatch_ingest_covered_gpu_seconds_total', help: 'GPU-seconds reported again for time already counted, by reason (duplicate, overlap: time of the same kind; measured: allocated time a measured report already counted; pruned: time before its slice\'s tombstone): reported, accounted for, not counted twice.', labelNames: ['reason'], registers }), COVERED_GPU_REASONS),
    measuredGpuSeconds: new Counter({ name: 'flopwatch_ingest_measured_gpu_seconds_total', help: 'GPU-seconds of slice time newly known as measured (DCGM), each once, by cluster: coverage\'s numerator.', labelNames: ['cluster'], registers }),
    allocatedGpuSeconds: new Counter({ name: 'flopwatch_ingest_allocated_gpu_seconds_total', help: 'GPU-seconds of slice time newly known as allocated (Slurm poller, jobcomp), each once whether or not measured time covers it, by cluster: coverage\'s denominator.', labelNames: ['cluster'], registers }),
    supersededGpuSeconds: new Counter({ name: 'flopwatch_ingest_superseded_gpu_seconds_total', help: 'GPU-seconds counted at an allocation\'s rate that a measured report then re-rated (the books moved by the difference).', registers }),
    conflicts: new Counter({ name: 'flopwatch_ingest_conflicts_total', help: 'Reports that overlapped covered time of their own kind at another rate (first counted wins; recorded as evidence), by kind.', labelNames: ['kind'], registers }),
    conflictGpuSeconds: new Counter({ name: 'flopwatch_ingest_conflict_gpu_seconds_total', help: 'GPU-seconds of conflicting reports that overlapped time counted at another rate, by kind.', labelNames: ['kind'], registers }),
    deadLettered,
    operations: new Counter({ name: 'flopwatch_operations_counted_total', help: 'Operations counted (estimate and 100 %-utilization upper bound), by hardware tier and accelerator model.', labelNames: ['kind', 'tier', 'model'], registers }),
    gpuSeconds: new Counter({ name: 'flopwatch_gpu_seconds_counted_total', help: 'GPU-seconds counted, by hardware tier and accelerator model.', labelNames: ['tier', 'model'], registers }),
    alerts: new Counter({ name: 'flopwatch_alerts_raised_total', help: 'Alerts raised, by rule and severity.', labelNames: ['rule', 'severity'], registers }),
    batchSize: new Histogram({ name: 'flopwatch_ingest_batch_messages', help: 'Messages per consumed batch.', buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000], registers }),
    batchSeconds: new Histogram({ name: 'flopwatch_ingest_batch_duration_seconds', help: 'Time to process one batch end to end (decode, dead-letter, apply, alerts).', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers }),
    applySeconds: new Histogram({ name: 'flopwatch_ingest_apply_duration_seconds', help: 'Time of the Redis apply step of one batch (all tenant scripts).', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers }),
    stepFailures: new Counter({ name: 'flopwatch_ingest_step_failures_total', help: 'Batch steps after the books (lineage links, refused-report records, job shapes, alert evaluation) that failed for a reason retrying cannot cure; the batch went on without them.', labelNames: ['step'], registers }),
    redisErrors: new Counter({ name: 'flopwatch_ingest_redis_errors_total', help: 'Failed Redis steps, each retried with backoff.', registers }),
    rebalances: new Counter({ name: 'flopwatch_ingest_rebalances_total', help: 'Consumer-group rebalances this instance went through.', registers }),
    lastApplied: new Gauge({ name: 'flopwatch_ingest_last_applied_timestamp_seconds', help: 'When a batch of this partition was last applied (Unix time).', labelNames: ['topic', 'partition'], registers }),
    lastOffset: new Gauge({ name: 'flopwatch_ingest_last_applied_offset', help: 'Last offset applied, by partition.', labelNames: ['topic', 'partition'], registers }),
    pendingEvaluations: new Gauge({ name: 'flopwatch_ingest_pending_evaluations', help: 'Subjects (tenants, lineages, groups) whose alert evaluation has not finished yet; the re-evaluation loop retries them until it does.', registers }),
    pendingEvaluationAge: new Gauge({ name: 'flopwatch_ingest_pending_evaluation_age_seconds', help: 'How long the longest-waiting pending alert evaluation has waited since it was last asked for or attempted (0 when none); each retry restarts it, so a lasting failure shows as a depth that stays above 0.', registers }),
    evaluationsDeferred: new Counter({ name: 'flopwatch_ingest_evaluations_deferred_total', help: 'Alert evaluations that could not finish for a reason that passes (a case that kept changing): kept as pending evaluations and retried.', labelNames: ['source'], registers }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

const COVERED_GPU_REASONS = ['duplicate', 'overlap', 'measured', 'pruned'];

/** Every covered reason exports a series from the start, so a dashboard shows 0 rather than nothing. */
function zeroed(counter: Counter<'reason'>, reasons = ['duplicate', 'overlap']): Counter<'reason'> {
  for (const reason of reasons) counter.inc({ reason }, 0);
  return counter;
}

/** What the scrape-time gauges read: the group's lag and the compliance picture in Redis. */
export interface ScrapeSamples {
  lag(): Promise<{ topic: string; partition: number; lag: number }[]>;
  exposure(): Promise<ExposureSnapshot>;
  /** Alert levels of the policy pack, as fractions of a threshold (ascending). */
  levels: readonly number[];
  /** Subjects given their own fraction and projected-crossing series (highest fractions first). */
  topSubjects?: number;
  /**
   * Whether the per-subject series exist at all (METRICS_SUBJECTS): they name subjects under investigation,
   * so a deployment whose metrics port is not private turns them off. Default true.
   */
  subjects?: boolean;
}

/**
 * Labels of a per-subject series; `case` is the subject's case id under the rule, so a dashboard row can
 * link to the console's `/console/#/cases/<case>`.
 */
function subjectLabels(s: { rule: string; scope: string; subject: string; tier: string }) {
  return { rule: s.rule, scope: s.scope, subject: s.subject, tier: s.tier, case: caseId({ rule: s.rule as AlertRule, scope: s.scope as AlertScope, subject: s.subject }) };
}

/**
 * Gauges computed on each scrape from Kafka and Redis, so every ingest replica reports the same
 * deployment-wide values (aggregate them with max, not sum). One Redis read serves all gauges of a
 * scrape. Per-subject series exist only for the `topSubjects` subjects that passed the lowest level.
 */
export function createScrapeMetrics(registry: Registry, samples: ScrapeSamples) {
  const registers = [registry];
  const subjectRegisters = samples.subjects === false ? [] : registers;
  const topSubjects = samples.topSubjects ?? 50;
  const errors = new Counter({ name: 'flopwatch_ingest_scrape_errors_total', help: 'Scrape-time samples that failed (their gauges are left empty), by sample.', labelNames: ['sample'], registers });
  for (const sample of ['lag', 'exposure']) errors.inc({ sample }, 0);
  let pending: Promise<ExposureSnapshot | null> | undefined;
  // Gauges of one scrape collect concurrently: the first starts the read, the others join it.
  const exposure = () => {
    pending ??= samples.exposure().catch(() => {
      errors.inc({ sample: 'exposure' });
      return null;
    });
    const current = pending;
    void current.finally(() => setTimeout(() => { if (pending === current) pending = undefined; }, 250));
    return current;
  };
  return {
    lag: new Gauge({
      name: 'flopwatch_ingest_consumer_lag_messages',
      help: 'Messages of each input partition not yet committed by the ingest consumer group.',
      labelNames: ['topic', 'partition'],
      registers,
      async collect() {
        this.reset();
        const lag = await samples.lag().catch(() => errors.inc({ sample: 'lag' }));
        for (const p of lag ?? []) this.set({ topic: p.topic, partition: String(p.partition) }, p.lag);
      },
    }),
    cases: new Gauge({
      name: 'flopwatch_alert_cases',
      help: 'Alert cases by status (open, acknowledged, escalated, resolved, false_positive).',
      labelNames: ['status'],
      registers,
      async collect() {
        this.reset();
        const snap = await exposure();
        if (!snap) return;
        for (const status of CASE_STATUSES) this.set({ status }, snap.cases.get(status) ?? 0);
      },
    }),
    aboveLevel: new Gauge({
      name: 'flopwatch_subjects_above_level',
      help: 'Subjects (lineages, tenants, groups) whose measured operations (the rule\'s pack measure) are at or above each alert level of a threshold rule, by the tenant tier behind them.',
      labelNames: ['rule', 'scope', 'tier', 'level'],
      registers,
      async collect() {
        this.reset();
        const snap = await exposure();
        if (!snap) return;
        const counts = new Map<string, { rule: string; scope: string; tier: string; level: string; n: number }>();
        for (const s of snap.subjects) {
          for (const level of samples.levels) {
            const key = `${s.rule}|${s.scope}|${s.tier}|${level}`;
            const entry = counts.get(key) ?? { rule: s.rule, scope: s.scope, tier: s.tier, level: String(level), n: 0 };
            if (s.fraction >= level) entry.n++;
            counts.set(key, entry);
          }
        }
        for (const { n, ...labels } of counts.values()) this.set(labels, n);
      },
    }),
    fraction: new Gauge({
      name: 'flopwatch_subject_threshold_ratio',
      help: `The rule's measured operations over its threshold (threshold rules only: velocity bands and limit rules are not fractions), for the ${topSubjects} highest subjects past the lowest alert level.`,
      labelNames: ['rule', 'scope', 'subject', 'tier', 'case'],
      registers: subjectRegisters,
      async collect() {
        this.reset();
        const snap = await exposure();
        for (const s of snap?.subjects.slice(0, topSubjects) ?? []) this.set(subjectLabels(s), s.fraction);
      },
    }),
    projected: new Gauge({
      name: 'flopwatch_subject_projected_crossing_timestamp_seconds',
      help: 'When the burn rate of the rule\'s measure, at the books\' event time, takes a subject to its threshold (Unix time), for the same subjects as flopwatch_subject_threshold_ratio.',
      labelNames: ['rule', 'scope', 'subject', 'tier', 'case'],
      registers: subjectRegisters,
      async collect() {
        this.reset();
        const snap = await exposure();
        for (const s of snap?.subjects.slice(0, topSubjects) ?? []) {
          if (s.projectedCrossingMs !== null) this.set(subjectLabels(s), s.projectedCrossingMs / 1000);
        }
      },
    }),
  };
}
