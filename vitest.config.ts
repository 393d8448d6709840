import { defineConfig } from 'vitest/config';

// Three projects: unit (offline, mocked SDK), cdk (assertions on the synthesized app) and
// integration (against the local cloud, started once by the global setup).
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Many unit tests spawn a process, a worker or a server (the upman bin, Lambda workers, the
          // issuer): on a busy machine that takes seconds. The timeout only catches a hang; no test
          // asserts how fast something ran (bench/ does, as ratios).
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'cdk',
          include: ['test/cdk/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One local cloud serves all files; files run one at a time so timings stay sane on 2 cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
