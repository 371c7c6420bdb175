import { describe, expect, it } from 'vitest';
import { describeZodError, usageEventSchema } from '../src/index.js';
import { exampleEvent } from './fixtures.js';

type Mutate = (e: ReturnType<typeof exampleEvent>) => void;
const data = (e: ReturnType<typeof exampleEvent>) => e.data as Record<string, Record<string, unknown>>;

describe('usageEventSchema', () => {
  it('accepts the example event of ARCHITECTURE.md', () => {
    expect(usageEventSchema.safeParse(exampleEvent()).success).toBe(true);
  });

  it.each<[string, Mutate]>([
    ['a fractional GPU count with three decimals', (e) => (data(e).accelerator!.count = 0.125)],
    ['a measured operation count', (e) => (e.data.operations = 1.2e18)],
    ['no utilization, lineage or labels', (e) => {
      delete e.data.utilization;
      delete e.data.lineage;
      delete e.data.labels;
    }],
    ['a time with a numeric offset', (e) => (data(e).interval!.start = '2026-11-20T11:05:00+01:00')],
    ['a CloudEvents extension attribute', (e) => (e.traceparent = '00-abc')],
  ])('accepts an event with %s', (_name, mutate) => {
    const event = exampleEvent();
    mutate(event);
    expect(usageEventSchema.safeParse(event).success).toBe(true);
  });

  it.each<[string, string, Mutate]>([
    ['a negative GPU count', 'data.accelerator.count', (e) => (data(e).accelerator!.count = -1)],
    ['zero GPUs', 'data.accelerator.count', (e) => (data(e).accelerator!.count = 0)],
    ['more GPUs than any cluster has', 'data.accelerator.count', (e) => (data(e).accelerator!.count = 2_000_000)],
    ['a GPU count finer than a thousandth', 'data.accelerator.count', (e) => (data(e).accelerator!.count = 0.0005)],
    ['an infinite operation count', 'data.operations', (e) => (e.data.operations = Infinity)],
    ['a negative operation count', 'data.operations', (e) => (e.data.operations = -5)],
    ['tensor-active above 1', 'data.utilization.tensorActive', (e) => (data(e).utilization!.tensorActive = 1.5)],
    ['an unknown precision', 'data.precision', (e) => (e.data.precision = 'fp12')],
    ['a tenant id with a space', 'data.tenantId', (e) => (e.data.tenantId = 'tenant 42')],
    ['a tenant id longer than 128 characters', 'data.tenantId', (e) => (e.data.tenantId = 'a'.repeat(129))],
    ['a lowercase country', 'data.cluster.country', (e) => (data(e).cluster!.country = 'us')],
    ['a time that is not RFC 3339', 'data.interval.end', (e) => (data(e).interval!.end = '2026-11-20 10:06')],
    ['another event type', 'type', (e) => (e.type = 'io.flopwatch.gpu.usage.v2')],
    ['no data', 'data', (e) => delete (e as Record<string, unknown>).data],
  ])('rejects an event with %s and names %s', (_name, path, mutate) => {
    const event = exampleEvent();
    mutate(event);
    const result = usageEventSchema.safeParse(event);
    expect(result.success).toBe(false);
    if (!result.success) expect(describeZodError(result.error)).toContain(`${path}: `);
  });
});
