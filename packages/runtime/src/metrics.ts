import { Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsRegistryOptions {
  service: string;
  /** Node process metrics (CPU, memory, event loop lag, GC). */
  collectDefault?: boolean;
  /** Prefix of the default metrics' names. */
  prefix?: string;
}

/** A prom-client registry whose every series carries `service`; pass it to metric constructors via `registers`. */
export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.collectDefault ?? true) collectDefaultMetrics({ register: registry, prefix: options.prefix ?? '' });
  return registry;
}
