/**
 * The recovery workflow (Standard): plan (bad input fails here, naming the field) → lock → pre-flight
 * (describe calls: a missing snapshot, image, template or address fails before anything changes) →
 * approval when the runbook needs it (a callback Task: waiting costs nothing; a rejection or expiry
 * changes nothing) → the runbook's steps one at a time (a destructive step of an `each-step` runbook
 * first waits for its own approval, which shows the resources it will change, then retakes the
 * lease), each a Lambda over a driver long-polled in a Choice loop → the target's health probes → release → notify. JSONPath only: the same definition
 * runs on AWS Step Functions and on the local engine.
 *
 * Input: `{ "target": "zmanim", "runbook": "restart-api", "params"?: { … }, "reason": "…",
 * "requestedBy"?: "…", "trigger"?: "manual" | "health-alert" }`; the execution name is the run id.
 *
 * Run state (`$`): the input, `plan`, `lock`, `context` (what the pre-flight resolved), `approval`,
 * `stepResults`, `verification`, `outcome`, and `failures`: one `{ Error, Cause }` per failed state,
 * keyed by the state's name.
 */

import { LAMBDA_CALLBACK_RESOURCE } from '../shared/engine/callback.ts';
import { INITIAL_PROGRESS, INITIAL_VERIFICATION, type StepKind } from '../shared/recovery/contracts.ts';
import {
  type JsonObject,
  lockTakenChoice,
  type State,
  type StateMachineDefinition,
  stepFailureStates,
  TRANSIENT_RETRY,
  taskBuilders,
  verificationStates,
} from './asl.ts';

/** The Lambdas of the recovery workflow: each is `functions/<name>/handler.ts`. */
export const RECOVER_FUNCTIONS = [
  'plan-recovery',
  'acquire-lock',
  'preflight-recovery',
  'request-approval',
  'run-recovery-command',
  'reboot-instances',
  'restore-volume',
  'restore-database',
  'replace-instance',
  'verify-recovery',
  'release-lock',
  'notify-recovery',
  'terminate-replaced',
] as const;
export type RecoverFunction = (typeof RECOVER_FUNCTIONS)[number];

/** Seconds Step Functions waits for each function; the long-poll functions wait up to 50 s inside. */
export const RECOVER_TASK_TIMEOUTS: Record<RecoverFunction, number> = {
  'plan-recovery': 30,
  'acquire-lock': 30,
  'preflight-recovery': 60,
  'request-approval': 30,
  'run-recovery-command': 90,
  'reboot-instances': 90,
  'restore-volume': 90,
  'restore-database': 90,
  'replace-instance': 90,
  'verify-recovery': 90,
  'release-lock': 30,
  'notify-recovery': 60,
  'terminate-replaced': 60,
};

/** The Lambda timeout of each function: 5 s under its Task timeout. */
export const RECOVER_FUNCTION_TIMEOUTS: Record<RecoverFunction, number> = Object.fromEntries(
  RECOVER_FUNCTIONS.map((name) => [name, RECOVER_TASK_TIMEOUTS[name] - 5]),
) as Record<RecoverFunction, number>;

/** The state and function of each step kind, in the order the Choice lists them. */
export const STEP_STATES: Record<StepKind, { state: string; fn: RecoverFunction }> = {
  command: { state: 'RunCommand', fn: 'run-recovery-command' },
  'restore-dump': { state: 'RestoreDump', fn: 'run-recovery-command' },
  reboot: { state: 'RebootInstances', fn: 'reboot-instances' },
  'restore-volume': { state: 'RestoreVolume', fn: 'restore-volume' },
  'restore-rds': { state: 'RestoreDatabase', fn: 'restore-database' },
  'replace-instance': { state: 'ReplaceInstance', fn: 'replace-instance' },
};

const RELEASE = 'ReleaseLock';
const NOTIFY = 'Notify';

/**
 * The recovery state machine for the given Lambda ARNs.
 *
 * Succeeds with `{ outcome: "succeeded", summary }` once every step ran and the probes passed; fails
 * with the first failure: `InvalidInputError` (the field named), `UnknownTargetError`,
 * `TargetLockedError`, `PreflightFailedError`, `ApprovalRejectedError`, `ApprovalExpiredError`
 * (nothing changed), `RecoveryStepFailedError`, `RecoveryStepTimedOutError`, `States.Timeout` (the
 * state named), `ReplaceInstanceFailedError` (the new instance named) or `RecoveryUnhealthyError`.
 *
 * @example
 * const definition = recoverWorkflow(localArns(RECOVER_FUNCTIONS));
 * JSON.stringify(definition); // the ASL for aws.sfn.StateMachine
 */
export function recoverWorkflow(arns: Readonly<Record<RecoverFunction, string>>): StateMachineDefinition {
  const { task, step } = taskBuilders(arns, RECOVER_TASK_TIMEOUTS);
  const plan = (field: string) => ({ [`${field}.$`]: `$.plan.${field}` });
  // The lease names this execution: health counts it only while the execution runs.
  const lockParameters: JsonObject = {
    ...plan('target'),
    ...plan('runId'),
    'ttlSeconds.$': '$.plan.lockTtlSeconds',
    'execution.$': '$$.Execution.Id',
  };

  const stepInput: JsonObject = {
    'target.$': '$.target',
    'runbook.$': '$.runbook',
    'runId.$': '$.runId',
    'executionId.$': '$$.Execution.Id',
    'params.$': '$.params',
    'step.$': '$.step',
    'context.$': '$.context',
    'progress.$': '$.progress',
  };
  const kindStates: [string, State][] = [];
  const seen = new Set<string>();
  for (const { state, fn } of Object.values(STEP_STATES)) {
    if (seen.has(state)) continue;
    seen.add(state);
    kindStates.push(
      [
        state,
        task(fn, {
          comment:
            'Advances the step by one long-poll (at most 50 s); the Choice after it loops while it runs.',
          parameters: stepInput,
          resultPath: '$.progress',
          next: `${state}Done`,
          catchNext: `${state}Failed`,
          catchResultPath: '$.failure',
        }),
      ],
      [
        `${state}Done`,
        {
          Type: 'Choice',
          Choices: [{ Variable: '$.progress.status', StringEquals: 'running', Next: state }],
          Default: 'StepDone',
        },
      ],
      [
        `${state}Failed`,
        { Type: 'Pass', Result: state, ResultPath: '$.failedIn', Next: 'StepFailureHasCause' },
      ],
    );
  }

  const runStep: StateMachineDefinition = {
    StartAt: 'StepApprovalNeeded',
    States: Object.fromEntries<State>([
      [
        'StepApprovalNeeded',
        {
          Type: 'Choice',
          Comment: 'A destructive step of an each-step runbook waits for its own approval.',
          Choices: [{ Variable: '$.step.approve', BooleanEquals: true, Next: 'AwaitStepApproval' }],
          Default: 'StepKind',
        },
      ],
      [
        'AwaitStepApproval',
        {
          Type: 'Task',
          Comment:
            'Callback: request-approval sends the resources this step will change and the approve/reject links; the step waits until SendTaskSuccess/SendTaskFailure or the declared expiry.',
          Resource: LAMBDA_CALLBACK_RESOURCE,
          Parameters: {
            FunctionName: arns['request-approval'],
            Payload: {
              'taskToken.$': '$$.Task.Token',
              'plan.$': '$.plan',
              'executionId.$': '$$.Execution.Id',
              'context.$': '$.context',
              'step.$': '$.step',
            },
          },
          TimeoutSecondsPath: '$.plan.approval.timeoutSeconds',
          ResultPath: '$.approval',
          Retry: [TRANSIENT_RETRY],
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'AwaitStepApprovalFailed' }],
          Next: 'RetakeStepLock',
        },
      ],
      [
        'AwaitStepApprovalFailed',
        { Type: 'Pass', Result: 'AwaitStepApproval', ResultPath: '$.failedIn', Next: 'StepFailureHasCause' },
      ],
      [
        'RetakeStepLock',
        task('acquire-lock', {
          comment:
            'After the step’s approval: takes the lease again (renews it if still held), or fails if another run took it.',
          parameters: {
            'target.$': '$.target',
            'runId.$': '$.runId',
            'ttlSeconds.$': '$.plan.lockTtlSeconds',
            'execution.$': '$$.Execution.Id',
          },
          resultPath: null,
          next: 'StepKind',
          catchNext: 'RetakeStepLockFailed',
          catchResultPath: '$.failure',
        }),
      ],
      [
        'RetakeStepLockFailed',
        { Type: 'Pass', Result: 'RetakeStepLock', ResultPath: '$.failedIn', Next: 'StepFailureHasCause' },
      ],
      [
        'StepKind',
        {
          Type: 'Choice',
          Choices: (Object.entries(STEP_STATES) as [StepKind, { state: string }][]).map(
            ([kind, { state }]) => ({
              Variable: '$.step.kind',
              StringEquals: kind,
              Next: state,
            }),
          ),
          Default: 'UnknownStep',
        },
      ],
      ...kindStates,
      ...stepFailureStates({
        comment: 'Names the step and the state in the cause, so that the run says where it failed.',
        cause:
          "States.Format('step {} ({}) failed in state {}: {}', $.step.name, $.step.type, $.failedIn, $.failure.Cause)",
        causeWithoutCause:
          "States.Format('step {} ({}) failed in state {}', $.step.name, $.step.type, $.failedIn)",
      }),
      ['UnknownStep', { Type: 'Fail', Error: 'RecoveryStepFailedError', Cause: 'a step of an unknown kind' }],
    ]),
  };

  const states = Object.fromEntries<State>([
    step('PlanRecovery', 'plan-recovery', {
      comment:
        'Validates the input field by field and renders the plan; bad input fails here, before anything runs.',
      parameters: { 'input.$': '$', 'runId.$': '$$.Execution.Name' },
      resultPath: '$.plan',
      next: 'AcquireLock',
      catchNext: NOTIFY,
    }),
    step('AcquireLock', 'acquire-lock', {
      parameters: lockParameters,
      resultPath: '$.lock',
      next: 'Preflight',
      catchNext: NOTIFY,
    }),
    step('Preflight', 'preflight-recovery', {
      comment: 'Describe calls only: what the steps will act on must exist, or the run ends here unchanged.',
      parameters: { 'plan.$': '$.plan' },
      resultPath: '$.context',
      next: 'ApprovalNeeded',
      catchNext: RELEASE,
    }),
    [
      'ApprovalNeeded',
      {
        Type: 'Choice',
        Choices: [{ Variable: '$.plan.approval.required', BooleanEquals: true, Next: 'AwaitApproval' }],
        Default: 'RunSteps',
      },
    ],
    [
      'AwaitApproval',
      {
        Type: 'Task',
        Comment:
          'Callback: request-approval sends the plan and the approve/reject links; the run waits (at no cost) until SendTaskSuccess/SendTaskFailure or the declared expiry.',
        Resource: LAMBDA_CALLBACK_RESOURCE,
        Parameters: {
          FunctionName: arns['request-approval'],
          Payload: {
            'taskToken.$': '$$.Task.Token',
            'plan.$': '$.plan',
            'executionId.$': '$$.Execution.Id',
            'context.$': '$.context',
          },
        },
        TimeoutSecondsPath: '$.plan.approval.timeoutSeconds',
        ResultPath: '$.approval',
        Retry: [TRANSIENT_RETRY],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failures.AwaitApproval', Next: RELEASE }],
        Next: 'RetakeLock',
      },
    ],
    // An approval may wait longer than a lease lasts (at most 12 h): the lease is taken again once
    // approved, so that the steps never run without it; another run holding it now ends this one
    // (TargetLockedError), having changed nothing.
    step('RetakeLock', 'acquire-lock', {
      comment:
        'After the approval: takes the lease again (renews it if still held), or fails if another run took it.',
      parameters: lockParameters,
      resultPath: '$.lock',
      next: 'RunSteps',
      catchNext: RELEASE,
    }),
    [
      'RunSteps',
      {
        Type: 'Map',
        Comment: 'The runbook steps, one at a time, in order; the first failure stops the runbook.',
        ItemsPath: '$.plan.steps',
        MaxConcurrency: 1,
        ItemSelector: {
          ...plan('target'),
          ...plan('runbook'),
          ...plan('runId'),
          ...plan('params'),
          'step.$': '$$.Map.Item.Value',
          'context.$': '$.context',
          // For the approval of one step: the plan it sends, its timeout and the lease's.
          'plan.$': '$.plan',
          progress: { ...INITIAL_PROGRESS },
        },
        ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, ...runStep },
        ResultPath: '$.stepResults',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failures.RunSteps', Next: RELEASE }],
        Next: 'VerifyNeeded',
      },
    ],
    ...verificationStates({
      enabled: '$.plan.verify.enabled',
      initial: { ...INITIAL_VERIFICATION },
      verify: step('VerifyHealth', 'verify-recovery', {
        comment: 'The target’s health probes: the runbook succeeds only when the target is healthy again.',
        parameters: { 'plan.$': '$.plan', 'verification.$': '$.verification' },
        resultPath: '$.verification',
        next: 'VerifyDone',
        catchNext: RELEASE,
      }),
      unhealthyError: 'RecoveryUnhealthyError',
      release: RELEASE,
    }),
    [RELEASE, lockTakenChoice('A run that failed before taking the lock has none to release.', NOTIFY)],
    step('ReleaseTheLock', 'release-lock', {
      parameters: { ...plan('target'), ...plan('runId') },
      resultPath: null,
      next: NOTIFY,
      catchNext: NOTIFY,
    }),
    [
      NOTIFY,
      task('notify-recovery', {
        comment: 'Publishes how the run ended and says how it ends.',
        parameters: { 'run.$': '$', 'runId.$': '$$.Execution.Name', 'executionId.$': '$$.Execution.Id' },
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
        Choices: [
          {
            And: [
              { Variable: '$.outcome.outcome', StringEquals: 'succeeded' },
              { Variable: '$.plan.retire', IsPresent: true },
            ],
            Next: 'WaitRetention',
          },
          { Variable: '$.outcome.outcome', StringEquals: 'succeeded', Next: 'Succeeded' },
        ],
        Default: 'Failed',
      },
    ],
    [
      'WaitRetention',
      {
        Type: 'Wait',
        Comment:
          'The replaced instances stay stopped, out of the target, for the retention the runbook declares; the lock is released and the outcome sent already. Stopping the run here keeps them.',
        SecondsPath: '$.plan.retire.afterSeconds',
        Next: 'TerminateReplaced',
      },
    ],
    [
      'TerminateReplaced',
      task('terminate-replaced', {
        comment:
          'Terminates the instances this run retired (tagged stepops:replaced-by-run with its id, no stepops:target).',
        parameters: { ...plan('target'), ...plan('runId') },
        resultPath: '$.retired',
        next: 'Succeeded',
        // Notify again: the outcome then says the termination failed (the run fails).
        catchNext: NOTIFY,
        catchResultPath: '$.failures.TerminateReplaced',
      }),
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
      'stepops recover: plan, lock, pre-flight, approval when destructive, the runbook steps, health probes, notify',
    StartAt: 'PlanRecovery',
    States: states,
  };
}
