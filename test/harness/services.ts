// Where a service's compiled entry point is: tests that start a service as a process run what
// production runs (`node services/<name>/dist/main.js`, compiled by scripts/build.mjs, which the
// test run's global setup calls first, so the files match the sources being tested).
import { fileURLToPath } from 'node:url';

export type ServiceName = 'ingest' | 'api' | 'notifier' | 'collector' | 'simulator';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of services/<name>/dist/main.js. */
export const serviceMain = (name: ServiceName): string => `${root}services/${name}/dist/main.js`;
