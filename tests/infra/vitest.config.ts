/**
 * The infra tests: the stacks under Pulumi's mock runtime with SST's components. One copy of
 * `@pulumi/pulumi` and `@pulumi/aws` must load, the one SST's components use (`.sst/platform`).
 * `sst install` runs first (cached) from the global setup.
 */
import path from 'node:path';
import { defineConfig } from 'vitest/config';

const root = path.resolve(import.meta.dirname, '..', '..');
const platformModules = path.join(root, '.sst', 'platform', 'node_modules');

export default defineConfig({
  root,
  resolve: {
    alias: {
      '@pulumi/pulumi': path.join(platformModules, '@pulumi', 'pulumi'),
      '@pulumi/aws': path.join(platformModules, '@pulumi', 'aws'),
    },
  },
  test: {
    include: ['tests/infra/**/*.test.ts'],
    globalSetup: ['tests/infra/sst-install.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
