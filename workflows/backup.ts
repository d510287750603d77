/**
 * The backup workflow: plan → take each job (one at a time, or in parallel when the target says
 * so) → record it in the catalogue → prune by retention → notify. The same state machine runs a
 * target's restore tests (`task: "restore-test"`) and its freshness check (`task: "freshness"`),
 * each on its own schedule. JSONPath only: the same definition runs on AWS Step Functions and on
 * the local engine.
 *
 * Waiting is a long-poll inside a Lambda (up to 50 s) and a Choice that loops while the job is
 * still running. A job that runs longer than a few minutes (a snapshot of hours, an RDS restore) is
 * read once per invocation, with a Wait between reads that grows with the time it has taken (the
 * poll step says how long: `waitSeconds`, up to 10 minutes), so that a 24-hour snapshot stays far
 * below Step Functions' 25,000 history events. There is no fixed Wait. A failed job is recorded as failed and its copies are not
 * pruned; the other jobs of the run still go ahead; the run then fails with `BackupFailedError`
 * after notifying. Success is recorded, and announced only for jobs that ask (`notifyOnSuccess`).
 *
 * Run state (`$`): the request (`target`, `backup`, `reason`, `dryRun`, `task`), `plan`, `results`
 * (one per job), `freshness`, `outcome`, and `failures`: `{ Error, Cause }` per failed top-level state.
 */
import { type JsonObject, type State, type StateMachineDefinition, taskBuilders } from './asl.ts';

/** The Lambdas of the backup workflow: each is `functions/<name>/handler.ts`. */
export const BACKUP_FUNCTIONS = [
  'plan-backup',
  'start-backup',
  'poll-backup',
  'record-backup',
  'prune-backups',
  'start-restore-test',
  'poll-restore-test',
  'record-restore-test',
  'check-freshness',
  'notify-backup',
] as const;
export type BackupFunction = (typeof BACKUP_FUNCTIONS)[number];

/** Seconds Step Functions waits for each function; the long-polls wait up to 50 s inside. */
export const BACKUP_TASK_TIMEOUTS: Record<BackupFunction, number> = {
  'plan-backup': 30,
  'start-backup': 120,
  'poll-backup': 90,
  'record-backup': 60,
  'prune-backups': 300,
  'start-restore-test': 120,
  'poll-restore-test': 90,
  'record-restore-test': 60,
  'check-freshness': 60,
  'notify-backup': 60,
};

/** Lambda timeouts: 5 s under each Task's timeout. */
export const BACKUP_FUNCTION_TIMEOUTS: Record<BackupFunction, number> = Object.fromEntries(
  BACKUP_FUNCTIONS.map((name) => [name, BACKUP_TASK_TIMEOUTS[name] - 5]),
) as Record<BackupFunction, number>;

/** AWS throttled a start: retried with backoff before the job counts as failed. */
const THROTTLE_RETRY = {
  ErrorEquals: ['BackupThrottledError'],
  IntervalSeconds: 5,
  BackoffRate: 2,
  MaxAttempts: 5,
  JitterStrategy: 'FULL' as const,
};

/**
 * The source cannot be copied right now (an RDS instance that is not `available`, a volume at its
 * concurrent snapshot limit): tried again over about half an hour before the job counts as failed.
 */
const SOURCE_BUSY_RETRY = {
  ErrorEquals: ['BackupSourceBusyError'],
  IntervalSeconds: 60,
  BackoffRate: 2,
  MaxAttempts: 5,
  JitterStrategy: 'FULL' as const,
};

const NOTIFY = 'Notify';

/** The poll at `path` says the job is still running. */
const running = (path: string) => ({ Variable: `${path}.status`, StringEquals: 'running' });
/** The poll at `path` asks for a Wait before the next read (a long job). */
const waitAsked = (path: string) => ({ Variable: `${path}.waitSeconds`, IsPresent: true });

/**
 * The backup state machine for the given Lambda ARNs.
 *
 * Input: `{ "target": "shop", "backup"?: "mongodb", "reason"?: "…", "dryRun"?: true, "task"?:
 * "backup" | "restore-test" | "freshness" }`; the execution name is the run id. Succeeds with
 * `{ outcome: "succeeded", summary }`; fails with `InvalidInputError` / `UnknownTargetError` (bad
 * input: nothing started), `BackupFailedError`, `RestoreTestFailedError` or `BackupStaleError`.
 *
 * @example
 * const definition = backupWorkflow(localArns(BACKUP_FUNCTIONS));
 */
export function backupWorkflow(arns: Readonly<Record<BackupFunction, string>>): StateMachineDefinition {
  const { task } = taskBuilders(arns, BACKUP_TASK_TIMEOUTS);
  const jobRef: JsonObject = { 'target.$': '$.target', 'runId.$': '$.runId', 'job.$': '$.job' };
  /** A step that makes something: it names it after the run's start, the same on a retry. */
  const startRef: JsonObject = { ...jobRef, 'runStartedAt.$': '$$.Execution.StartTime' };

  const takeJob: StateMachineDefinition = {
    StartAt: 'DryRun',
    States: {
      DryRun: {
        Type: 'Choice',
        Choices: [{ Variable: '$.dryRun', BooleanEquals: true, Next: 'PreviewPrune' }],
        Default: 'StartJob',
      },
      StartJob: task('start-backup', {
        comment:
          'Starts the snapshot, the AWS Backup job or the dump command; throttling and a busy source are retried.',
        parameters: startRef,
        resultPath: '$.handle',
        retry: [THROTTLE_RETRY, SOURCE_BUSY_RETRY],
        next: 'WaitForJob',
        catchNext: 'RecordFailure',
      }),
      WaitForJob: task('poll-backup', {
        comment: 'Long-polls the job for up to 50 s; the Choice loops while it is still running.',
        parameters: { 'handle.$': '$.handle' },
        resultPath: '$.status',
        next: 'JobDone',
        catchNext: 'RecordFailure',
      }),
      JobDone: {
        Type: 'Choice',
        Choices: [{ Variable: '$.status.handle', IsPresent: true, Next: 'CarryJobHandle' }],
        Default: 'JobStillRunning',
      },
      CarryJobHandle: {
        Type: 'Pass',
        Comment: "The poll moved the job on (a dump's upload command, started once the dump was done).",
        InputPath: '$.status.handle',
        ResultPath: '$.handle',
        Next: 'JobStillRunning',
      },
      JobStillRunning: {
        Type: 'Choice',
        Choices: [
          { And: [running('$.status'), waitAsked('$.status')], Next: 'WaitBeforePoll' },
          { Variable: '$.status.status', StringEquals: 'running', Next: 'WaitForJob' },
        ],
        Default: 'RecordBackup',
      },
      WaitBeforePoll: {
        Type: 'Wait',
        Comment: 'A long job: the time the poll asked for (a tenth of the time taken, up to 10 min).',
        SecondsPath: '$.status.waitSeconds',
        Next: 'WaitForJob',
      },
      RecordBackup: task('record-backup', {
        comment: 'Good only when complete and, for a dump, the object is there with its size and tags.',
        parameters: { ...jobRef, 'attempt.$': '$' },
        resultPath: '$.recorded',
        next: 'CopyGood',
        catchNext: 'JobUnrecorded',
        catchResultPath: '$.recordError',
      }),
      CopyGood: {
        Type: 'Choice',
        Comment: 'A failed copy is never followed by a prune.',
        Choices: [{ Variable: '$.recorded.outcome', StringEquals: 'good', Next: 'PruneBackups' }],
        Default: 'JobFailed',
      },
      PruneBackups: task('prune-backups', {
        comment: 'Adopts orphans found by their tags, then deletes what the retention allows.',
        parameters: {
          'target.$': '$.target',
          'runId.$': '$.runId',
          'backup.$': '$.job.name',
          lastOutcome: 'good',
          dryRun: false,
        },
        resultPath: '$.prune',
        next: 'JobSucceeded',
        catchNext: 'PruneFailed',
        catchResultPath: '$.pruneError',
      }),
      JobSucceeded: {
        Type: 'Pass',
        Parameters: {
          'backup.$': '$.job.name',
          outcome: 'good',
          'location.$': '$.recorded.location',
          'detail.$': '$.recorded.detail',
          'prune.$': '$.prune',
        },
        End: true,
      },
      RecordFailure: task('record-backup', {
        comment: 'Records the failed copy (what was started, and why it failed).',
        parameters: { ...jobRef, 'attempt.$': '$' },
        resultPath: '$.recorded',
        next: 'JobFailed',
        catchNext: 'JobUnrecorded',
        catchResultPath: '$.recordError',
      }),
      JobFailed: {
        Type: 'Pass',
        Parameters: { 'backup.$': '$.job.name', outcome: 'failed', 'detail.$': '$.recorded.detail' },
        End: true,
      },
      JobUnrecorded: {
        Type: 'Pass',
        Comment: 'The catalogue could not be written: the run fails and says so.',
        Parameters: { 'backup.$': '$.job.name', outcome: 'failed', 'error.$': '$.recordError' },
        End: true,
      },
      PruneFailed: {
        Type: 'Pass',
        Parameters: {
          'backup.$': '$.job.name',
          outcome: 'failed',
          stage: 'prune',
          'error.$': '$.pruneError',
        },
        End: true,
      },
      PreviewPrune: task('prune-backups', {
        comment: 'Dry run: what the retention would delete; nothing is taken or deleted.',
        parameters: {
          'target.$': '$.target',
          'runId.$': '$.runId',
          'backup.$': '$.job.name',
          lastOutcome: 'not-taken',
          dryRun: true,
        },
        resultPath: '$.prune',
        next: 'Previewed',
        catchNext: 'PruneFailed',
        catchResultPath: '$.pruneError',
      }),
      Previewed: {
        Type: 'Pass',
        Parameters: { 'backup.$': '$.job.name', outcome: 'dry-run', 'prune.$': '$.prune' },
        End: true,
      },
    },
  };

  const restoreTest: StateMachineDefinition = {
    StartAt: 'StartRestoreTest',
    States: {
      StartRestoreTest: task('start-restore-test', {
        comment: 'Restores the newest good copy into scratch (a dump) or a temporary instance (RDS).',
        parameters: startRef,
        resultPath: '$.handle',
        retry: [THROTTLE_RETRY],
        next: 'WaitForRestoreTest',
        catchNext: 'RecordRestoreTest',
      }),
      WaitForRestoreTest: task('poll-restore-test', {
        comment: 'Long-polls for up to 50 s; the Choice loops while the test is running.',
        parameters: { 'handle.$': '$.handle' },
        resultPath: '$.status',
        next: 'RestoreTestDone',
        catchNext: 'RecordRestoreTest',
      }),
      RestoreTestDone: {
        Type: 'Choice',
        Choices: [
          { And: [running('$.status'), waitAsked('$.status')], Next: 'CarryHandleThenWait' },
          { Variable: '$.status.status', StringEquals: 'running', Next: 'CarryHandle' },
        ],
        Default: 'RecordRestoreTest',
      },
      CarryHandle: {
        Type: 'Pass',
        Comment: 'The poll may move the test on (an RDS instance being deleted): poll its new handle.',
        InputPath: '$.status.handle',
        ResultPath: '$.handle',
        Next: 'WaitForRestoreTest',
      },
      CarryHandleThenWait: {
        Type: 'Pass',
        Comment: 'A long test: carry its handle, then wait the time the poll asked for.',
        InputPath: '$.status.handle',
        ResultPath: '$.handle',
        Next: 'WaitBeforeRestorePoll',
      },
      WaitBeforeRestorePoll: {
        Type: 'Wait',
        SecondsPath: '$.status.waitSeconds',
        Next: 'WaitForRestoreTest',
      },
      RecordRestoreTest: task('record-restore-test', {
        comment: 'Writes the result into the catalogue entry of the tested copy.',
        parameters: { ...jobRef, 'attempt.$': '$' },
        resultPath: '$.recorded',
        next: 'RestoreTestRecorded',
        catchNext: 'RestoreTestUnrecorded',
        catchResultPath: '$.recordError',
      }),
      RestoreTestRecorded: {
        Type: 'Pass',
        Parameters: {
          'backup.$': '$.job.name',
          'outcome.$': '$.recorded.outcome',
          'detail.$': '$.recorded.detail',
        },
        Next: 'RestoreTestVerdict',
      },
      RestoreTestVerdict: {
        Type: 'Choice',
        Choices: [{ Variable: '$.outcome', StringEquals: 'passed', Next: 'RestoreTestPassed' }],
        Default: 'RestoreTestFailed',
      },
      RestoreTestPassed: { Type: 'Pass', End: true },
      RestoreTestFailed: {
        Type: 'Pass',
        Parameters: { 'backup.$': '$.backup', outcome: 'failed', 'detail.$': '$.detail' },
        End: true,
      },
      RestoreTestUnrecorded: {
        Type: 'Pass',
        Parameters: { 'backup.$': '$.job.name', outcome: 'failed', 'error.$': '$.recordError' },
        End: true,
      },
    },
  };

  const eachJob = (processor: StateMachineDefinition): State => ({
    Type: 'Map',
    ItemsPath: '$.plan.jobs',
    Comment: 'One job at a time, or all at once when the target declares backupOptions.parallel.',
    MaxConcurrencyPath: '$.plan.maxConcurrency',
    ItemSelector: {
      'target.$': '$.plan.target',
      'runId.$': '$.plan.runId',
      'dryRun.$': '$.plan.dryRun',
      'job.$': '$$.Map.Item.Value',
    },
    ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, ...processor },
    ResultPath: '$.results',
    Next: NOTIFY,
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failures.Jobs', Next: NOTIFY }],
  });

  const states: Record<string, State> = {
    PlanBackup: task('plan-backup', {
      comment: 'Validates the request and lists the jobs; bad input fails here, before anything runs.',
      parameters: { 'input.$': '$', 'runId.$': '$$.Execution.Name' },
      resultPath: '$.plan',
      next: 'ChooseTask',
      catchNext: NOTIFY,
      catchResultPath: '$.failures.PlanBackup',
    }),
    ChooseTask: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.plan.task', StringEquals: 'restore-test', Next: 'RestoreTests' },
        { Variable: '$.plan.task', StringEquals: 'freshness', Next: 'CheckFreshness' },
      ],
      Default: 'TakeBackups',
    },
    TakeBackups: eachJob(takeJob),
    RestoreTests: eachJob(restoreTest),
    CheckFreshness: task('check-freshness', {
      comment: "Alerts when a backup's newest good copy is older than its RPO, even if no run failed.",
      parameters: { 'target.$': '$.plan.target', 'runId.$': '$.plan.runId' },
      resultPath: '$.freshness',
      next: NOTIFY,
      catchNext: NOTIFY,
      catchResultPath: '$.failures.CheckFreshness',
    }),
    [NOTIFY]: task('notify-backup', {
      comment: 'Announces failures, stale backups and failed restore tests; success only when asked.',
      parameters: { 'run.$': '$', 'runId.$': '$$.Execution.Name' },
      resultPath: '$.outcome',
      next: 'RunSucceeded',
      catchNext: 'NotifyFailed',
      catchResultPath: '$.failures.Notify',
    }),
    RunSucceeded: {
      Type: 'Choice',
      Choices: [{ Variable: '$.outcome.outcome', StringEquals: 'succeeded', Next: 'Succeeded' }],
      Default: 'Failed',
    },
    Succeeded: { Type: 'Succeed', OutputPath: '$.outcome' },
    Failed: { Type: 'Fail', ErrorPath: '$.outcome.error', CausePath: '$.outcome.summary' },
    NotifyFailed: { Type: 'Fail', Error: 'NotificationFailedError', CausePath: '$.failures.Notify.Cause' },
  };

  return {
    Comment:
      'stepops backup: snapshots and dumps, catalogue, retention that keeps the last good copy, restore tests, freshness',
    StartAt: 'PlanBackup',
    States: states,
  };
}
