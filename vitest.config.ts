import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    pool: 'forks',
    // Two cores: integration suites start real servers; more workers only thrash.
    maxWorkers: 2,
    // Hang guards, not speed bounds: at load 9 on 2 cores a whole local run that takes 15 s quiet took
    // over 60 s (npm run test:loaded, 2026-12-06); tests that need a longer guard set their own.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // The SDK's "Node 22 will be needed" notice is about a future SDK release, not these tests; it
    // would otherwise fill the output once per worker (and once per CLI process the e2e tests spawn).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
