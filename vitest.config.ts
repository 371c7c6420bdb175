import { defineConfig } from 'vitest/config';

// Packages resolve to their TypeScript source through the `flopwatch-source` export condition,
// so nothing needs building before a test.
const conditions = ['flopwatch-source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    // Tests that need servers reach them through test/harness (env → testcontainers → deploy/local).
    globalSetup: ['./test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: keep the broker, Redis and the test workers from starving each other.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    include: ['packages/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'services/*/test/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts', 'deploy/local/test/**/*.test.ts'],
  },
});
