import { defineConfig } from 'vitest/config';

/** npm run test:peers — the proxy against real Dovecot/Postfix and real legacy clients. */
export default defineConfig({
  test: {
    include: ['test/peers/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One set of mail servers per file; clients run one after another against it.
    fileParallelism: false,
    globalSetup: ['test/helpers/temp-root.ts'],
  },
});
