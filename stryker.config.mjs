// Mutation testing of the modules that protect data and access: `npm run test:mutation`.
// TypeScript here is v7 (tsgo), which has no JavaScript compiler API: the TypeScript checker
// plugin (and Stryker's own tsconfig rewrite) call `ts.parseConfigFileTextToJson` and fail, so
// there is no checker, and `tsconfigFile` names no file so that the rewrite is skipped (our
// tsconfig.json has no `extends` or `references` for it to fix). Mutants that do not type-check
// run anyway: vitest strips the types, and the tests decide.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.stryker.config.ts', related: false },
  tsconfigFile: 'tsconfig.no-stryker-rewrite.json',
  coverageAnalysis: 'perTest',
  // The machine is small and shared: at most two test processes.
  concurrency: 2,
  timeoutMS: 20_000,
  // Static mutants (module-level constants: a pattern, a set) re-import every test file for each
  // mutant, most of the run's time; they are run apart: `STRYKER_STATIC=1 npm run test:mutation`.
  ignoreStatic: process.env.STRYKER_STATIC !== '1',
  mutate: [
    'shared/backup/retention.ts',
    'shared/recovery/approval.ts',
    'shared/api/approval.ts',
    'shared/api/auth.ts',
    'shared/drivers/local/file-lease-store.ts',
    'shared/drivers/aws/dynamo-lease-store.ts',
    'shared/health/state.ts',
    'shared/health/alerts.ts',
    'shared/shell/script.ts',
    'shared/config/names.ts',
    'shared/deploy/bounds.ts',
    // The destructive-step classification (ALWAYS_DESTRUCTIVE and isDestructive).
    'shared/recovery/run.ts:45-62',
  ],
  ignorePatterns: ['.sst', '.stepops', 'bench', 'reports', 'coverage'],
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
