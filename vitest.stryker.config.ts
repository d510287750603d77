/**
 * The tests Stryker runs against each mutant: only the fast ones that cover the safety modules
 * (never the workflow or end-to-end suites, which take minutes). `npm run test:mutation` uses it.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'tests/safety/**/*.test.ts',
      'tests/unit/backup/retention.test.ts',
      'tests/unit/recovery/approval.test.ts',
      // The approval endpoint's 410 (the run ended) and 503 (the answer did not reach the run).
      'tests/unit/recovery/approval-delivery.test.ts',
      // A step's approval request, the resource lines, and what an answer tells the run.
      'tests/unit/recovery/approval-step-request.test.ts',
      'tests/unit/recovery/approval-answer.test.ts',
      'tests/unit/api/start-deploy.test.ts',
      'tests/unit/health/state.test.ts',
      'tests/unit/health/flapping.test.ts',
      'tests/unit/health/routing.test.ts',
      'tests/unit/health/storm.test.ts',
      'tests/unit/health/status-publish.test.ts',
      'tests/unit/health/record-grouped.test.ts',
      // The fold's flapping bounds, recovery reasons, kept starts and fleet host, written out.
      'tests/unit/health/fold-rules.test.ts',
      'tests/unit/shell/script.test.ts',
      'tests/unit/deploy/steps.test.ts',
      'tests/unit/recovery/plan-step.test.ts',
      'tests/unit/drivers/local-adapters.test.ts',
      'tests/unit/drivers/aws-adapters.test.ts',
      'tests/unit/maintenance/mute.test.ts',
    ],
    // The IAM table renders every stack (a minute) and covers none of the mutated modules.
    exclude: ['tests/safety/iam.test.ts'],
    setupFiles: ['tests/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
