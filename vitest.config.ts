import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/sandbox/**/*.test.ts', 'test/fuzz/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real listeners on port 0; files may run in parallel.
    pool: 'forks',
    globalSetup: ['test/helpers/temp-root.ts'],
  },
});
