/**
 * The deploy workflow: plan → claim the hosts (take the lock, then resolve the hosts: one state,
 * one Lambda) → (verify on every host) → (snapshot) → batches, one at a time (send the script,
 * long-poll the command, health gate) → release and notify (one state, one Lambda). A failed batch
 * rolls back every host already touched and probes them again. Every exit path releases the lock
 * and notifies (a failed plan took no lock: it only notifies; a claim that took the lock and then
 * failed to resolve the hosts ends there too). JSONPath only, so that the same definition runs on
 * AWS Step Functions and on the local engine.
 *
 * Run state (`$`), as it grows: the request (`target`, `ref`, …), `plan`, `hosts` (the hosts, their
 * batches, and the `lock` the run took before resolving them), `snapshots`, `rollback`,
 * `rollbackCommand`, `rollbackStatus`, `outcome`, and `failures`: one `{ Error, Cause }` per failed
 * state, keyed by the state's name, which is how the notification names the state that failed.
 */

import type { Target } from '../shared/config/schema.ts';
import { deployRunBoundSeconds, MAX_LEASE_SECONDS } from '../shared/deploy/bounds.ts';
import { INITIAL_GATE, INITIAL_TARGETS_WAIT } from '../shared/deploy/contracts.ts';
import { BATCH_FAILED_ERROR } from '../shared/deploy/outcome.ts';
import {
  type JsonObject,
  type LambdaTaskOptions,
  type State,
  type StateMachineDefinition,
  taskBuilders,
} from './asl.ts';

/** The Lambdas of the deploy workflow: each is `functions/<name>/handler.ts`. */
export const DEPLOY_FUNCTIONS = [
  'plan-deploy',
  'claim-hosts',
  'create-snapshots',
  'send-command',
  'poll-command',
  'check-health',
  'drain-targets',
  'register-targets',
  'describe-batch-failure',
  'plan-rollback',
  'notify',
] as const;
export type DeployFunction = (typeof DEPLOY_FUNCTIONS)[number];

/**
 * Seconds Step Functions waits for each function (`TimeoutSeconds` of its Tasks). The long-poll
 * functions wait up to 50 s inside.
 */
export const DEPLOY_TASK_TIMEOUTS: Record<DeployFunction, number> = {
  'plan-deploy': 30,
  // Takes the lease (a DynamoDB write, 30 s as acquire-lock has), then resolves the hosts (EC2 and
  // SSM describe calls, 60 s as resolve-hosts has).
  'claim-hosts': 90,
  'create-snapshots': 120,
  'send-command': 60,
  'poll-command': 90,
  'check-health': 90,
  'drain-targets': 90,
  'register-targets': 90,
  'describe-batch-failure': 30,
  'plan-rollback': 30,
  notify: 60,
};

/**
 * The Lambda timeout each function should be deployed with: 5 s under its Task timeout, so that
 * the function (whose long-polls keep 10 s in hand) ends before Step Functions stops waiting.
 */
export const DEPLOY_FUNCTION_TIMEOUTS: Record<DeployFunction, number> = Object.fromEntries(
  DEPLOY_FUNCTIONS.map((name) => [name, DEPLOY_TASK_TIMEOUTS[name] - 5]),
) as Record<DeployFunction, number>;

/** The shortest `TimeoutSeconds` a deploy state machine gets, whatever its targets. */
export const MIN_DEPLOY_TIMEOUT_SECONDS = 3_600;
/** `TimeoutSeconds` when none is given (the local engine, the CLI): the longest lease. */
export const DEFAULT_DEPLOY_TIMEOUT_SECONDS = MAX_LEASE_SECONDS;

/**
 * The deploy state machine's `TimeoutSeconds` for a stage: the longest real bound of a deploy of
 * any of its targets (every command to its deadline, every gate, a rollback), at least
 * {@link MIN_DEPLOY_TIMEOUT_SECONDS}. A run that would need more (more batches than a target's file
 * lets one assume) is refused at ClaimHosts, before any host changes.
 *
 * @example
 * deployTimeoutSeconds([findTarget('zmanim'), findTarget('shop')]) // e.g. 48_600
 */
export function deployTimeoutSeconds(targets: readonly Target[]): number {
  return Math.max(MIN_DEPLOY_TIMEOUT_SECONDS, ...targets.map(deployRunBoundSeconds));
}

/** Options of {@link deployWorkflow}. */
export interface DeployWorkflowOptions {
  /** The state machine's `TimeoutSeconds` (see {@link deployTimeoutSeconds}). */
  timeoutSeconds?: number;
}

/**
 * SSM throttled a call that the function could not absorb (its status reads absorb theirs): the
 * Task is tried again with backoff, so that throttling never rolls back a healthy deploy. A send is
 * idempotent (it finds the command it already sent), so a retry never runs a script twice.
 */
export const SSM_THROTTLE_RETRY = {
  ErrorEquals: ['ThrottlingException'],
  IntervalSeconds: 2,
  BackoffRate: 2,
  MaxAttempts: 5,
  JitterStrategy: 'FULL' as const,
};

/** A command still running whose poll asks for a Wait before the next read (it has run for minutes). */
function longCommand(status: string, next: string) {
  return {
    And: [
      { Variable: `${status}.status`, StringEquals: 'running' },
      { Variable: `${status}.waitSeconds`, IsPresent: true },
    ],
    Next: next,
  };
}

/** The Wait a long command's poll asks for (a tenth of its age, up to 10 min), then the poll again. */
function pollWait(name: string, status: string, poll: string): [string, State] {
  return [
    name,
    {
      Type: 'Wait',
      Comment: 'A long command: wait as its poll asked, so a long run stays far below 25,000 history events.',
      SecondsPath: `${status}.waitSeconds`,
      Next: poll,
    },
  ];
}

/**
 * The state every run ends with: it releases the lease (if the run still holds it) and notifies.
 * Every path after the lock goes through it, as every path does.
 */
const NOTIFY = 'Notify';
const RELEASE = NOTIFY;

/**
 * The deploy state machine for the given Lambda ARNs.
 *
 * Input: `{ "target": "demo", "ref": "v2", "reason"?: "…", "requestedBy"?: "…" }`; the execution
 * name is the run id. Succeeds with `{ outcome: "succeeded", summary }`; fails with the error of
 * the failed state before any host was touched (`InvalidInputError`, `UnknownTargetError`,
 * `TargetLockedError`, `NoHostsError`, `SnapshotFailedError`, …), `DeployFailedError` (rolled
 * back, healthy) or `RollbackFailedError`, whose cause names the state, host and output tail.
 *
 * @example
 * const definition = deployWorkflow(localArns(DEPLOY_FUNCTIONS));
 * JSON.stringify(definition); // the ASL for aws.sfn.StateMachine
 */
export function deployWorkflow(
  arns: Readonly<Record<DeployFunction, string>>,
  options: DeployWorkflowOptions = {},
): StateMachineDefinition {
  const timeoutSeconds = Math.trunc(options.timeoutSeconds ?? DEFAULT_DEPLOY_TIMEOUT_SECONDS);
  const { task, step } = taskBuilders(arns, DEPLOY_TASK_TIMEOUTS);
  /** A Task inside a batch: its failure is recorded under its name and fails the batch. */
  const batchStep = (
    name: string,
    fn: DeployFunction,
    options: Omit<LambdaTaskOptions, 'timeoutSeconds' | 'catchResultPath' | 'catchNext'>,
  ): [string, State] => [
    name,
    task(fn, { ...options, catchResultPath: `$.failure.${name}`, catchNext: 'DescribeBatchFailure' }),
  ];
  const plan = (field: string) => ({ [`${field}.$`]: `$.plan.${field}` });
  const runRef: JsonObject = { ...plan('target'), ...plan('ref'), ...plan('runId') };

  const batch: StateMachineDefinition = {
    StartAt: 'DrainRequested',
    States: Object.fromEntries<State>([
      [
        'DrainRequested',
        {
          Type: 'Choice',
          Comment: 'A target behind a load balancer: the batch leaves its target groups before it deploys.',
          Choices: [{ Variable: '$.loadBalancer', BooleanEquals: true, Next: 'DrainTargets' }],
          Default: 'SendDeployCommand',
        },
      ],
      batchStep('DrainTargets', 'drain-targets', {
        comment:
          'Deregisters the hosts, then long-polls until their connections have drained; the Choice loops.',
        parameters: { 'target.$': '$.target', 'hosts.$': '$.batch.hosts', 'wait.$': '$.drain' },
        resultPath: '$.drain',
        next: 'DrainDone',
      }),
      [
        'DrainDone',
        {
          Type: 'Choice',
          Choices: [
            { Variable: '$.drain.status', StringEquals: 'waiting', Next: 'DrainTargets' },
            { Variable: '$.drain.status', StringEquals: 'timed-out', Next: 'RecordDrainFailure' },
          ],
          Default: 'SendDeployCommand',
        },
      ],
      [
        'RecordDrainFailure',
        {
          Type: 'Pass',
          Parameters: { Error: 'TargetsNotDrainedError', 'Cause.$': '$.drain' },
          ResultPath: '$.failure.DrainTargets',
          Next: 'DescribeBatchFailure',
        },
      ],
      batchStep('SendDeployCommand', 'send-command', {
        retry: [SSM_THROTTLE_RETRY],
        parameters: {
          'target.$': '$.target',
          'ref.$': '$.ref',
          'runId.$': '$.runId',
          phase: 'deploy',
          'hosts.$': '$.batch.hosts',
          'batchIndex.$': '$.batch.index',
          'maxErrors.$': '$.maxErrors',
          'hostOffset.$': '$.batch.offset',
          'hostCount.$': '$.batch.hostCount',
          'startedAt.$': '$$.Execution.StartTime',
        },
        resultPath: '$.command',
        next: 'WaitForDeploy',
      }),
      batchStep('WaitForDeploy', 'poll-command', {
        retry: [SSM_THROTTLE_RETRY],
        comment: 'Long-polls the command for up to 50 s; the Choice loops while it is still running.',
        parameters: { 'target.$': '$.target', 'command.$': '$.command', 'maxErrors.$': '$.maxErrors' },
        resultPath: '$.commandStatus',
        next: 'DeployCommandDone',
      }),
      [
        'DeployCommandDone',
        {
          Type: 'Choice',
          Choices: [
            longCommand('$.commandStatus', 'WaitBeforeDeployPoll'),
            { Variable: '$.commandStatus.status', StringEquals: 'running', Next: 'WaitForDeploy' },
            { Variable: '$.commandStatus.status', StringEquals: 'failed', Next: 'RecordCommandFailure' },
          ],
          Default: 'CheckHealth',
        },
      ],
      pollWait('WaitBeforeDeployPoll', '$.commandStatus', 'WaitForDeploy'),
      [
        'RecordCommandFailure',
        {
          Type: 'Pass',
          Parameters: { Error: 'CommandFailedError', 'Cause.$': '$.commandStatus' },
          ResultPath: '$.failure.WaitForDeploy',
          Next: 'DescribeBatchFailure',
        },
      ],
      batchStep('CheckHealth', 'check-health', {
        comment: 'Probes for up to 50 s per call until healthy or the gate deadline; the Choice loops.',
        parameters: {
          'target.$': '$.target',
          'hosts.$': '$.batch.hosts',
          'healthGate.$': '$.healthGate',
          'gate.$': '$.gate',
        },
        resultPath: '$.gate',
        next: 'HealthGateDone',
      }),
      [
        'HealthGateDone',
        {
          Type: 'Choice',
          Choices: [
            { Variable: '$.gate.status', StringEquals: 'checking', Next: 'CheckHealth' },
            { Variable: '$.gate.status', StringEquals: 'unhealthy', Next: 'RecordGateFailure' },
          ],
          Default: 'RegisterRequested',
        },
      ],
      [
        'RegisterRequested',
        {
          Type: 'Choice',
          Choices: [{ Variable: '$.loadBalancer', BooleanEquals: true, Next: 'RegisterTargets' }],
          Default: 'BatchDeployed',
        },
      ],
      batchStep('RegisterTargets', 'register-targets', {
        comment: 'Registers the hosts again, then long-polls until the load balancer finds them healthy.',
        parameters: { 'target.$': '$.target', 'hosts.$': '$.batch.hosts', 'wait.$': '$.register' },
        resultPath: '$.register',
        next: 'RegisterDone',
      }),
      [
        'RegisterDone',
        {
          Type: 'Choice',
          Choices: [
            { Variable: '$.register.status', StringEquals: 'waiting', Next: 'RegisterTargets' },
            { Variable: '$.register.status', StringEquals: 'timed-out', Next: 'RecordRegisterFailure' },
          ],
          Default: 'BatchDeployed',
        },
      ],
      [
        'RecordRegisterFailure',
        {
          Type: 'Pass',
          Parameters: { Error: 'TargetsNotHealthyError', 'Cause.$': '$.register' },
          ResultPath: '$.failure.RegisterTargets',
          Next: 'DescribeBatchFailure',
        },
      ],
      [
        'RecordGateFailure',
        {
          Type: 'Pass',
          Parameters: { Error: 'HealthGateFailedError', 'Cause.$': '$.gate' },
          ResultPath: '$.failure.CheckHealth',
          Next: 'DescribeBatchFailure',
        },
      ],
      [
        'BatchDeployed',
        {
          Type: 'Succeed',
          Comment:
            'Each batch returns only its index: the Map collects every batch’s output before its ResultPath, and a result over 256 KiB fails the run (States.DataLimitExceeded cannot be caught).',
          OutputPath: '$.batch.index',
        },
      ],
      [
        'DescribeBatchFailure',
        task('describe-batch-failure', {
          comment:
            'Carries the batch index, state, host and output tail out of the Map as the cause of its error, so that the rollback knows which hosts were touched.',
          parameters: { 'batch.$': '$.batch', 'failure.$': '$.failure' },
          resultPath: '$.batchFailure',
          next: 'BatchFailed',
          catchNext: 'BatchFailedUndescribed',
          catchResultPath: '$.failure.DescribeBatchFailure',
        }),
      ],
      ['BatchFailed', { Type: 'Fail', ErrorPath: '$.batchFailure.error', CausePath: '$.batchFailure.cause' }],
      [
        'BatchFailedUndescribed',
        {
          Type: 'Fail',
          Comment: 'Without a batch index, the rollback covers every batch.',
          Error: BATCH_FAILED_ERROR,
          Cause: 'a batch failed and its failure could not be described',
        },
      ],
    ]),
  };

  const states = Object.fromEntries<State>([
    step('PlanDeploy', 'plan-deploy', {
      comment: 'Validates the request and plans the deploy; bad input fails here, before anything runs.',
      parameters: { 'input.$': '$', 'runId.$': '$$.Execution.Name' },
      resultPath: '$.plan',
      next: 'ClaimHosts',
      catchNext: NOTIFY,
    }),
    step('ClaimHosts', 'claim-hosts', {
      comment:
        'Takes the lease, then resolves the hosts; refuses a fleet whose batches could outlast the state machine timeout, before any host changes. A failure after the lease was taken leads to Notify, which releases it.',
      parameters: {
        ...plan('target'),
        ...plan('runId'),
        'ttlSeconds.$': '$.plan.lockTtlSeconds',
        // The lease names this execution: health counts it only while the execution runs.
        'execution.$': '$$.Execution.Id',
        ...plan('batchSize'),
        runTimeoutSeconds: timeoutSeconds,
      },
      resultPath: '$.hosts',
      next: 'VerifyRequested',
      catchNext: RELEASE,
    }),
    [
      'VerifyRequested',
      {
        Type: 'Choice',
        Comment:
          "The target's verify steps (e.g. that the ref exists) run on every host before any host changes.",
        Choices: [{ Variable: '$.plan.verify', BooleanEquals: true, Next: 'SendVerifyCommand' }],
        Default: 'SnapshotRequested',
      },
    ],
    step('SendVerifyCommand', 'send-command', {
      retry: [SSM_THROTTLE_RETRY],
      parameters: {
        ...runRef,
        phase: 'verify',
        'hosts.$': '$.hosts.hosts',
        'startedAt.$': '$$.Execution.StartTime',
      },
      resultPath: '$.verifyCommand',
      next: 'WaitForVerify',
      catchNext: RELEASE,
    }),
    step('WaitForVerify', 'poll-command', {
      retry: [SSM_THROTTLE_RETRY],
      parameters: { ...plan('target'), 'command.$': '$.verifyCommand' },
      resultPath: '$.verifyStatus',
      next: 'VerifyCommandDone',
      catchNext: RELEASE,
    }),
    [
      'VerifyCommandDone',
      {
        Type: 'Choice',
        Choices: [
          longCommand('$.verifyStatus', 'WaitBeforeVerifyPoll'),
          { Variable: '$.verifyStatus.status', StringEquals: 'running', Next: 'WaitForVerify' },
          { Variable: '$.verifyStatus.status', StringEquals: 'failed', Next: 'RecordVerifyFailure' },
        ],
        Default: 'SnapshotRequested',
      },
    ],
    pollWait('WaitBeforeVerifyPoll', '$.verifyStatus', 'WaitForVerify'),
    [
      'RecordVerifyFailure',
      {
        Type: 'Pass',
        Comment: 'A verify step failed on some host: no host was changed; the run ends failed.',
        Parameters: { Error: 'CommandFailedError', 'Cause.$': '$.verifyStatus' },
        ResultPath: '$.failures.WaitForVerify',
        Next: RELEASE,
      },
    ],
    [
      'SnapshotRequested',
      {
        Type: 'Choice',
        Choices: [{ Variable: '$.plan.snapshot.enabled', BooleanEquals: true, Next: 'CreateSnapshots' }],
        Default: 'DeployBatches',
      },
    ],
    step('CreateSnapshots', 'create-snapshots', {
      parameters: { ...runRef, 'hosts.$': '$.hosts.hosts', ...plan('snapshot') },
      resultPath: '$.snapshots',
      next: 'DeployBatches',
      catchNext: RELEASE,
    }),
    [
      'DeployBatches',
      {
        Type: 'Map',
        Comment: 'One batch at a time; the first failed batch stops the rollout.',
        ItemsPath: '$.hosts.batches',
        MaxConcurrency: 1,
        ItemSelector: {
          ...runRef,
          'batch.$': '$$.Map.Item.Value',
          ...plan('maxErrors'),
          ...plan('healthGate'),
          ...plan('loadBalancer'),
          gate: { ...INITIAL_GATE },
          drain: { ...INITIAL_TARGETS_WAIT },
          register: { ...INITIAL_TARGETS_WAIT },
        },
        ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, ...batch },
        ResultPath: null,
        Catch: [
          { ErrorEquals: ['States.ALL'], ResultPath: '$.failures.DeployBatches', Next: 'PlanRollback' },
        ],
        Next: RELEASE,
      },
    ],
    step('PlanRollback', 'plan-rollback', {
      parameters: { 'batches.$': '$.hosts.batches', 'failure.$': '$.failures.DeployBatches' },
      resultPath: '$.rollback',
      next: 'RollbackDrainRequested',
      catchNext: RELEASE,
    }),
    [
      'RollbackDrainRequested',
      {
        Type: 'Choice',
        Comment: 'Behind a load balancer, the hosts to roll back leave their target groups first.',
        Choices: [{ Variable: '$.plan.loadBalancer', BooleanEquals: true, Next: 'DrainRollbackTargets' }],
        Default: 'SendRollbackCommand',
      },
    ],
    step('DrainRollbackTargets', 'drain-targets', {
      parameters: { ...plan('target'), 'hosts.$': '$.rollback.hosts', 'wait.$': '$.rollback.drain' },
      resultPath: '$.rollback.drain',
      next: 'RollbackDrainDone',
      catchNext: RELEASE,
    }),
    [
      'RollbackDrainDone',
      {
        Type: 'Choice',
        Choices: [
          { Variable: '$.rollback.drain.status', StringEquals: 'waiting', Next: 'DrainRollbackTargets' },
          {
            Variable: '$.rollback.drain.status',
            StringEquals: 'timed-out',
            Next: 'RecordRollbackDrainFailure',
          },
        ],
        Default: 'SendRollbackCommand',
      },
    ],
    [
      'RecordRollbackDrainFailure',
      {
        Type: 'Pass',
        Parameters: { Error: 'TargetsNotDrainedError', 'Cause.$': '$.rollback.drain' },
        ResultPath: '$.failures.DrainRollbackTargets',
        Next: RELEASE,
      },
    ],
    step('SendRollbackCommand', 'send-command', {
      retry: [SSM_THROTTLE_RETRY],
      parameters: {
        ...runRef,
        phase: 'rollback',
        'hosts.$': '$.rollback.hosts',
        hostOffset: 0,
        'hostCount.$': '$.rollback.hostCount',
        'startedAt.$': '$$.Execution.StartTime',
      },
      resultPath: '$.rollbackCommand',
      next: 'WaitForRollback',
      catchNext: RELEASE,
    }),
    step('WaitForRollback', 'poll-command', {
      retry: [SSM_THROTTLE_RETRY],
      parameters: { ...plan('target'), 'command.$': '$.rollbackCommand' },
      resultPath: '$.rollbackStatus',
      next: 'RollbackCommandDone',
      catchNext: RELEASE,
    }),
    [
      'RollbackCommandDone',
      {
        Type: 'Choice',
        Choices: [
          longCommand('$.rollbackStatus', 'WaitBeforeRollbackPoll'),
          { Variable: '$.rollbackStatus.status', StringEquals: 'running', Next: 'WaitForRollback' },
          {
            Variable: '$.rollbackStatus.status',
            StringEquals: 'failed',
            Next: 'RecordRollbackCommandFailure',
          },
        ],
        Default: 'CheckHealthAfterRollback',
      },
    ],
    pollWait('WaitBeforeRollbackPoll', '$.rollbackStatus', 'WaitForRollback'),
    [
      'RecordRollbackCommandFailure',
      {
        Type: 'Pass',
        Parameters: { Error: 'CommandFailedError', 'Cause.$': '$.rollbackStatus' },
        ResultPath: '$.failures.WaitForRollback',
        Next: RELEASE,
      },
    ],
    step('CheckHealthAfterRollback', 'check-health', {
      parameters: {
        ...plan('target'),
        'hosts.$': '$.rollback.hosts',
        ...plan('healthGate'),
        'gate.$': '$.rollback.gate',
      },
      resultPath: '$.rollback.gate',
      next: 'RollbackHealthDone',
      catchNext: RELEASE,
    }),
    [
      'RollbackHealthDone',
      {
        Type: 'Choice',
        Choices: [
          { Variable: '$.rollback.gate.status', StringEquals: 'checking', Next: 'CheckHealthAfterRollback' },
          {
            Variable: '$.rollback.gate.status',
            StringEquals: 'unhealthy',
            Next: 'RecordRollbackGateFailure',
          },
        ],
        Default: 'RollbackRegisterRequested',
      },
    ],
    [
      'RollbackRegisterRequested',
      {
        Type: 'Choice',
        Choices: [{ Variable: '$.plan.loadBalancer', BooleanEquals: true, Next: 'RegisterRollbackTargets' }],
        Default: RELEASE,
      },
    ],
    step('RegisterRollbackTargets', 'register-targets', {
      parameters: { ...plan('target'), 'hosts.$': '$.rollback.hosts', 'wait.$': '$.rollback.register' },
      resultPath: '$.rollback.register',
      next: 'RollbackRegisterDone',
      catchNext: RELEASE,
    }),
    [
      'RollbackRegisterDone',
      {
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.rollback.register.status',
            StringEquals: 'waiting',
            Next: 'RegisterRollbackTargets',
          },
          {
            Variable: '$.rollback.register.status',
            StringEquals: 'timed-out',
            Next: 'RecordRollbackRegisterFailure',
          },
        ],
        Default: RELEASE,
      },
    ],
    [
      'RecordRollbackRegisterFailure',
      {
        Type: 'Pass',
        Parameters: { Error: 'TargetsNotHealthyError', 'Cause.$': '$.rollback.register' },
        ResultPath: '$.failures.RegisterRollbackTargets',
        Next: RELEASE,
      },
    ],
    [
      'RecordRollbackGateFailure',
      {
        Type: 'Pass',
        Parameters: { Error: 'HealthGateFailedError', 'Cause.$': '$.rollback.gate' },
        ResultPath: '$.failures.CheckHealthAfterRollback',
        Next: RELEASE,
      },
    ],
    [
      NOTIFY,
      task('notify', {
        comment:
          'Releases the lease if this run still holds it (every path after ClaimHosts comes here), publishes how the run ended (success and every failure) and says how it ends.',
        parameters: {
          'run.$': '$',
          'runId.$': '$$.Execution.Name',
          'executionId.$': '$$.Execution.Id',
          'startedAt.$': '$$.Execution.StartTime',
        },
        resultPath: '$.outcome',
        next: 'RunSucceeded',
        catchNext: 'NotifyFailed',
        catchResultPath: '$.failures.Notify',
      }),
    ],
    [
      'RunSucceeded',
      {
        Type: 'Choice',
        Choices: [{ Variable: '$.outcome.outcome', StringEquals: 'succeeded', Next: 'Succeeded' }],
        Default: 'Failed',
      },
    ],
    ['Succeeded', { Type: 'Succeed', OutputPath: '$.outcome' }],
    ['Failed', { Type: 'Fail', ErrorPath: '$.outcome.error', CausePath: '$.outcome.cause' }],
    [
      'NotifyFailed',
      { Type: 'Fail', Error: 'NotificationFailedError', CausePath: '$.failures.Notify.Cause' },
    ],
  ]);

  return {
    Comment:
      'stepops deploy: batches behind a health gate, rollback of every touched host, notify on every outcome',
    StartAt: 'PlanDeploy',
    TimeoutSeconds: timeoutSeconds,
    States: states,
  };
}
