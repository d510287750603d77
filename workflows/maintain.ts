/**
 * The maintenance workflow (Standard): a target's maintenance job run as an unattended runbook,
 * started by its EventBridge schedule or by `stepops maintain`. plan (bad input fails here, naming
 * the field) → the target's lease (held by a deploy, recovery or maintenance: the run is skipped, and says
 * so; it never waits) → the job's steps one at a time, each rolling over the hosts one batch at a
 * time (drained from the load balancer, run, the job's health gate, registered again) in a long-poll
 * Choice loop → the job's health gate on every host → release → notify (a failure is an alert).
 * While the run holds the lease, health rounds mute the probes the job declares in `mute` (its lease
 * says which job runs and what it mutes); every other probe alerts as usual. JSONPath only:
 * the same definition runs on AWS Step Functions and on the local engine.
 *
 * Input: `{ "target": "datizmo", "job": "certificates", "reason"?: "…", "requestedBy"?: "…",
 * "trigger"?: "schedule" | "manual" }`; the execution name is the run id.
 *
 * Run state (`$`): the input, `plan`, `lock`, `stepResults`, `verification`, `outcome`, and
 * `failures`: one `{ Error, Cause }` per failed state, keyed by the state's name.
 */

import { INITIAL_PROGRESS, INITIAL_VERIFICATION } from '../shared/recovery/contracts.ts';
import {
  lockTakenChoice,
  type State,
  type StateMachineDefinition,
  stepFailureStates,
  taskBuilders,
  verificationStates,
} from './asl.ts';

/** The Lambdas of the maintenance workflow: each is `functions/<name>/handler.ts`. */
export const MAINTAIN_FUNCTIONS = [
  'plan-maintenance',
  'acquire-lock',
  'run-maintenance-step',
  'verify-maintenance',
  'release-lock',
  'notify-maintenance',
] as const;
export type MaintainFunction = (typeof MAINTAIN_FUNCTIONS)[number];

/** Seconds Step Functions waits for each function; the long-poll functions wait up to 50 s inside. */
export const MAINTAIN_TASK_TIMEOUTS: Record<MaintainFunction, number> = {
  'plan-maintenance': 30,
  'acquire-lock': 30,
  'run-maintenance-step': 90,
  'verify-maintenance': 90,
  'release-lock': 30,
  'notify-maintenance': 60,
};

/** The Lambda timeout of each function: 5 s under its Task timeout. */
export const MAINTAIN_FUNCTION_TIMEOUTS: Record<MaintainFunction, number> = Object.fromEntries(
  MAINTAIN_FUNCTIONS.map((name) => [name, MAINTAIN_TASK_TIMEOUTS[name] - 5]),
) as Record<MaintainFunction, number>;

const RELEASE = 'ReleaseLock';
const NOTIFY = 'Notify';

/**
 * The maintenance state machine for the given Lambda ARNs.
 *
 * Succeeds with `{ outcome: "succeeded" | "skipped", summary }`; fails with the first failure:
 * `InvalidInputError` (the field named), `UnknownTargetError`, `NoHostsError`,
 * `RecoveryStepFailedError` (the step, batch and host named; the hosts of a failed batch are
 * registered back), `RecoveryStepTimedOutError`, `States.Timeout` or `MaintenanceUnhealthyError`.
 *
 * @example
 * const definition = maintainWorkflow(localArns(MAINTAIN_FUNCTIONS));
 * JSON.stringify(definition); // the ASL for aws.sfn.StateMachine
 */
export function maintainWorkflow(arns: Readonly<Record<MaintainFunction, string>>): StateMachineDefinition {
  const { task, step } = taskBuilders(arns, MAINTAIN_TASK_TIMEOUTS);

  const runStep: StateMachineDefinition = {
    StartAt: 'RunStep',
    States: Object.fromEntries<State>([
      [
        'RunStep',
        task('run-maintenance-step', {
          comment:
            'Advances the step by one long-poll (at most 50 s): batch by batch, drain, run, health gate, register.',
          parameters: {
            'target.$': '$.target',
            'job.$': '$.job',
            'runbook.$': '$.runbook',
            'runId.$': '$.runId',
            'executionId.$': '$$.Execution.Id',
            'params.$': '$.params',
            'step.$': '$.step',
            'context.$': '$.context',
            'progress.$': '$.progress',
          },
          resultPath: '$.progress',
          next: 'RunStepDone',
          catchNext: 'StepFailureHasCause',
          catchResultPath: '$.failure',
        }),
      ],
      [
        'RunStepDone',
        {
          Type: 'Choice',
          Choices: [{ Variable: '$.progress.status', StringEquals: 'running', Next: 'RunStep' }],
          Default: 'StepDone',
        },
      ],
      ...stepFailureStates({
        comment: 'Names the step in the cause, so that the run says where it failed.',
        cause: "States.Format('step {} failed in state RunStep: {}', $.step.name, $.failure.Cause)",
        causeWithoutCause: "States.Format('step {} failed in state RunStep', $.step.name)",
      }),
    ]),
  };

  const states = Object.fromEntries<State>([
    step('PlanMaintenance', 'plan-maintenance', {
      comment: 'Validates the input and plans the job as the runbook it runs as; bad input fails here.',
      parameters: { 'input.$': '$', 'runId.$': '$$.Execution.Name' },
      resultPath: '$.plan',
      next: 'AcquireLock',
      catchNext: NOTIFY,
    }),
    step('AcquireLock', 'acquire-lock', {
      comment:
        'The target’s lease, saying the job and the probes it mutes: held by a deploy, recovery or maintenance, the run is skipped (TargetLockedError, recorded; nothing runs).',
      parameters: {
        'target.$': '$.plan.target',
        'runId.$': '$.plan.runId',
        'ttlSeconds.$': '$.plan.lockTtlSeconds',
        // The lease names this execution: health counts it only while the execution runs.
        'execution.$': '$$.Execution.Id',
        // The lease says which job runs and what it mutes: health mutes only those probes meanwhile.
        maintenance: { 'job.$': '$.plan.job', 'mute.$': '$.plan.mute' },
      },
      resultPath: '$.lock',
      next: 'RunSteps',
      catchNext: NOTIFY,
    }),
    [
      'RunSteps',
      {
        Type: 'Map',
        Comment: 'The job’s steps, one at a time, in order; the first failure stops the job.',
        ItemsPath: '$.plan.runbook.steps',
        MaxConcurrency: 1,
        ItemSelector: {
          'target.$': '$.plan.target',
          'job.$': '$.plan.job',
          'runbook.$': '$.plan.runbook.runbook',
          'runId.$': '$.plan.runId',
          'params.$': '$.plan.runbook.params',
          'step.$': '$$.Map.Item.Value',
          context: { instanceIds: [], steps: {}, checks: [] },
          progress: { ...INITIAL_PROGRESS },
        },
        ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, ...runStep },
        ResultPath: '$.stepResults',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failures.RunSteps', Next: RELEASE }],
        Next: 'VerifyNeeded',
      },
    ],
    ...verificationStates({
      enabled: '$.plan.runbook.verify.enabled',
      initial: { ...INITIAL_VERIFICATION },
      verify: step('VerifyHealth', 'verify-maintenance', {
        comment:
          'The job’s health gate on every host once every step ran: the job succeeds only when it passes.',
        parameters: { 'job.$': '$.plan.job', 'plan.$': '$.plan.runbook', 'verification.$': '$.verification' },
        resultPath: '$.verification',
        next: 'VerifyDone',
        catchNext: RELEASE,
      }),
      unhealthyError: 'MaintenanceUnhealthyError',
      release: RELEASE,
    }),
    [RELEASE, lockTakenChoice('A run that did not take the lock has none to release.', NOTIFY)],
    step('ReleaseTheLock', 'release-lock', {
      parameters: { 'target.$': '$.plan.target', 'runId.$': '$.plan.runId' },
      resultPath: null,
      next: NOTIFY,
      catchNext: NOTIFY,
    }),
    [
      NOTIFY,
      task('notify-maintenance', {
        comment: 'Publishes how the run ended (a failure is an alert) and says how it ends.',
        parameters: { 'run.$': '$', 'runId.$': '$$.Execution.Name', 'executionId.$': '$$.Execution.Id' },
        resultPath: '$.outcome',
        next: 'RunEnded',
        catchNext: 'NotifyFailed',
        catchResultPath: '$.failures.Notify',
      }),
    ],
    [
      'RunEnded',
      {
        Type: 'Choice',
        Choices: [
          { Variable: '$.outcome.outcome', StringEquals: 'succeeded', Next: 'Succeeded' },
          { Variable: '$.outcome.outcome', StringEquals: 'skipped', Next: 'Skipped' },
        ],
        Default: 'Failed',
      },
    ],
    ['Succeeded', { Type: 'Succeed', OutputPath: '$.outcome' }],
    [
      'Skipped',
      {
        Type: 'Succeed',
        Comment: 'Another run held the target: a skipped schedule is recorded and told, not a failed run.',
        OutputPath: '$.outcome',
      },
    ],
    ['Failed', { Type: 'Fail', ErrorPath: '$.outcome.error', CausePath: '$.outcome.cause' }],
    [
      'NotifyFailed',
      { Type: 'Fail', Error: 'NotificationFailedError', CausePath: '$.failures.Notify.Cause' },
    ],
  ]);

  return {
    Comment:
      'stepops maintain: plan, lease (skipped when held), the job’s steps batch by batch behind the health gate, verify, notify',
    StartAt: 'PlanMaintenance',
    States: states,
  };
}
