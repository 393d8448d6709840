import { defineConfig } from 'vitest/config';

// Three projects: unit (offline, mocked SDK), cdk (assertions on the synthesized app) and
// integration (against the local cloud, started once by the global setup).
export default defineConfig({
  test: {
    // Tests run on the machine's Node 20 (Lambda runs nodejs22.x): the SDK's Node 22 notice is known.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
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
