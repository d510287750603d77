import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    globalSetup: ['tests/prerequisites.ts'],
    // Generous bounds, not expectations: rendering every stack under Pulumi's mocks takes about 40 s
    // alone and over 120 s on a 2-core machine busy with other work.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Much of the suite waits (real servers, bash, paced reads): three files at once keep two cores
    // busy (measured 682 s with the default on 2 cores, 261 s with three).
    maxWorkers: 3,
  },
});
