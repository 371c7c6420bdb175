// METRICS_SUBJECTS: the per-subject series (subject ids with their threshold ratios) exist only when the
// setting is on; the aggregate compliance gauges stay either way.
import { Registry } from 'prom-client';
import { caseId } from '@flopwatch/contracts';
import { describe, expect, it } from 'vitest';
import { createScrapeMetrics } from '../src/metrics.js';
import type { ExposureSnapshot } from '../src/exposure.js';

const DAY = 86_400_000;
const crossing = Date.now() + 12 * DAY;
// Two subjects past the lowest level: what the exposure read returns for a deployment under investigation.
const snapshot = (): ExposureSnapshot => ({
  cases: new Map([['open', 2]]),
  subjects: [
    { rule: 'frontier-approach', scope: 'lineage', subject: 'lineage-secret-1', tier: '3', fraction: 0.8, projectedCrossingMs: crossing },
    { rule: 'tenant-approach', scope: 'tenant', subject: 'tenant-secret-2', tier: '2', fraction: 0.55, projectedCrossingMs: null },
  ],
});

async function scrape(subjects: boolean | undefined): Promise<string> {
  const registry = new Registry();
  createScrapeMetrics(registry, { lag: async () => [], exposure: async () => snapshot(), levels: [0.5, 0.75, 0.9], ...(subjects === undefined ? {} : { subjects }) });
  return registry.metrics();
}

describe('METRICS_SUBJECTS', () => {
  it('on (the default): each subject has its ratio and projected crossing', async () => {
    for (const text of [await scrape(undefined), await scrape(true)]) {
      // `case` is the console's case id of the subject under the rule: the dashboards link rows to it.
      const id = caseId({ rule: 'frontier-approach', scope: 'lineage', subject: 'lineage-secret-1' });
      expect(id).toMatch(/^cs_[0-9a-f]{24}$/);
      expect(text).toContain(`flopwatch_subject_threshold_ratio{rule="frontier-approach",scope="lineage",subject="lineage-secret-1",tier="3",case="${id}"} 0.8`);
      expect(text).toContain(`flopwatch_subject_projected_crossing_timestamp_seconds{rule="frontier-approach",scope="lineage",subject="lineage-secret-1",tier="3",case="${id}"} ${crossing / 1000}`);
      expect(text).toContain('subject="tenant-secret-2"');
    }
  });

  it('off: no series names a subject, and the aggregate gauges remain', async () => {
    const text = await scrape(false);
    expect(text).not.toContain('flopwatch_subject_threshold_ratio');
    expect(text).not.toContain('flopwatch_subject_projected_crossing_timestamp_seconds');
    expect(text).not.toMatch(/secret-[12]|case=/);
    expect(text).toContain('flopwatch_alert_cases{status="open"} 2');
    expect(text).toMatch(/flopwatch_subjects_above_level\{/);
  });
});
