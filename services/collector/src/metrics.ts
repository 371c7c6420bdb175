import { Counter, Gauge, type Registry } from 'prom-client';

export const SOURCES = ['dcgm', 'slurm'] as const;
export const DCGM_SKIP_REASONS = ['idle', 'unmapped_job', 'unmapped_cluster', 'unknown_model', 'bad_sample', 'invalid_event'] as const;
export const SLURM_SKIP_REASONS = ['unmapped_account', 'unmapped_partition', 'unmapped_cluster', 'unreadable_gpus', 'unreadable_nodes', 'invalid_event'] as const;

/** The collector's metrics; every labelled series exists from the start, at zero. */
export function createCollectorMetrics(registry: Registry) {
  const registers = [registry];
  const metrics = {
    events: new Counter({ name: 'flopwatch_collector_events_produced_total', help: 'Usage events produced to the telemetry topic, by source.', labelNames: ['source'], registers }),
    gpuSeconds: new Counter({ name: 'flopwatch_collector_gpu_seconds_reported_total', help: 'GPU-seconds covered by the produced events, by source.', labelNames: ['source'], registers }),
    tooLarge: new Counter({ name: 'flopwatch_collector_events_too_large_total', help: 'Usage events larger than the telemetry topic accepts (max.message.bytes): never sent, logged with their ids; the others of their send went out.', labelNames: ['source'], registers }),
    tooLargeGpuSeconds: new Counter({ name: 'flopwatch_collector_gpu_seconds_too_large_total', help: 'GPU-seconds of the usage events too large to send (flopwatch_collector_events_too_large_total): reported by the source, never counted.', labelNames: ['source'], registers }),
    produceErrors: new Counter({ name: 'flopwatch_collector_produce_errors_total', help: 'Failed sends to Kafka (the events are kept and sent again on the next round).', labelNames: ['source'], registers }),
    dcgmSkipped: new Counter({ name: 'flopwatch_collector_dcgm_samples_skipped_total', help: 'GPU samples that produced no usage, by reason (idle: no job on the GPU; unmapped_job: no tenant for its namespace or HPC job).', labelNames: ['reason'], registers }),
    dcgmSamples: new Counter({ name: 'flopwatch_collector_dcgm_samples_total', help: 'GPU samples of a job kept for a report.', registers }),
    scrapes: new Counter({ name: 'flopwatch_collector_dcgm_scrapes_total', help: 'Scrapes of DCGM exporters, by result (ok, error).', labelNames: ['result'], registers }),
    targetUp: new Gauge({ name: 'flopwatch_collector_dcgm_target_up', help: 'Whether the last scrape of a DCGM exporter succeeded (1) or not (0).', labelNames: ['target'], registers }),
    targets: new Gauge({ name: 'flopwatch_collector_dcgm_targets', help: 'DCGM exporters currently configured or discovered.', registers }),
    slotsMissed: new Counter({ name: 'flopwatch_collector_dcgm_slots_missed_total', help: 'Scrape slots of a DCGM exporter left unobserved (no answer, an error, an answer after its slot, or a slot never scraped): each is a gap of one scrape interval of that node\'s GPUs.', labelNames: ['target'], registers }),
    unsentReports: new Gauge({ name: 'flopwatch_collector_dcgm_unsent_reports', help: 'DCGM reports Kafka refused, kept in memory to be sent again (bounded by DCGM_UNSENT_MAX).', registers }),
    reportsDropped: new Counter({ name: 'flopwatch_collector_dcgm_reports_dropped_total', help: 'DCGM reports dropped unsent because the unsent buffer was full (oldest first): usage never delivered.', registers }),
    gpuSecondsDropped: new Counter({ name: 'flopwatch_collector_dcgm_gpu_seconds_dropped_total', help: 'GPU-seconds of the DCGM reports dropped unsent.', registers }),
    slurmSkipped: new Counter({ name: 'flopwatch_collector_slurm_jobs_skipped_total', help: 'Running GPU jobs skipped on a poll, by reason.', labelNames: ['reason'], registers }),
    polls: new Counter({ name: 'flopwatch_collector_slurm_polls_total', help: 'Polls of slurmrestd, by result (ok, error; accounting_ok, accounting_error: reads of slurmdbd after an outage).', labelNames: ['result'], registers }),
    slurmUp: new Gauge({ name: 'flopwatch_collector_slurm_up', help: 'Whether the last poll of a slurmrestd endpoint succeeded (1) or not (0); absent when the Slurm source is off.', labelNames: ['endpoint'], registers }),
    slurmUnrecovered: new Counter({ name: 'flopwatch_collector_slurm_jobs_unrecovered_total', help: 'Slurm GPU jobs that left the slurmrestd listing before their end was reported (the collector was down longer than MinJobAge, no slurmdbd to read them back): their time after the last mark is not counted.', labelNames: ['endpoint'], registers }),
    slurmRecovered: new Counter({ name: 'flopwatch_collector_slurm_jobs_recovered_total', help: 'Ended Slurm jobs no longer listed by slurmrestd (an outage longer than MinJobAge) read back from slurmdbd and reported.', registers }),
    slurmUnobservedSeconds: new Counter({ name: 'flopwatch_collector_slurm_unobserved_seconds_total', help: 'Wall-clock seconds in which a job could have started and ended unseen: gaps between successful polls of a slurmrestd endpoint beyond MinJobAge.', labelNames: ['endpoint'], registers }),
    runningJobs: new Gauge({ name: 'flopwatch_collector_slurm_running_gpu_jobs', help: 'RUNNING jobs with GPUs in the last successful poll of a slurmrestd endpoint.', labelNames: ['endpoint'], registers }),
  };
  for (const source of SOURCES) {
    metrics.events.labels(source).inc(0);
    metrics.gpuSeconds.labels(source).inc(0);
    metrics.produceErrors.labels(source).inc(0);
    metrics.tooLarge.labels(source).inc(0);
    metrics.tooLargeGpuSeconds.labels(source).inc(0);
  }
  for (const reason of DCGM_SKIP_REASONS) metrics.dcgmSkipped.labels(reason).inc(0);
  for (const reason of SLURM_SKIP_REASONS) metrics.slurmSkipped.labels(reason).inc(0);
  for (const result of ['ok', 'error']) {
    metrics.scrapes.labels(result).inc(0);
    metrics.polls.labels(result).inc(0);
  }
  for (const result of ['accounting_ok', 'accounting_error']) metrics.polls.labels(result).inc(0);
  return metrics;
}

export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>;
