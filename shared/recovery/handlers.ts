/**
 * The recovery Tasks as plain handlers over explicit dependencies: each parses its input with the
 * task's schema (as the Lambda's parser middleware does), runs the step and parses its output. The
 * Lambdas in `functions/` wire the same steps with middy and the real drivers; the local engine and
 * the tests bind these with the drivers they choose.
 */
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { acquireLockInputSchema, lockSchema, releaseLockInputSchema } from '../deploy/contracts.ts';
import type { DeployDeps } from '../deploy/deps.ts';
import { acquireLockStep } from '../deploy/steps/acquire-lock.ts';
import { releaseLockStep } from '../deploy/steps/release-lock.ts';
import type { Drivers } from '../drivers/index.ts';
import type { LambdaHandler } from '../engine/lambda.ts';
import { requestApprovalStep } from './approval.ts';
import {
  approvalRequestedSchema,
  notifyRecoveryInputSchema,
  planRecoveryInputSchema,
  preflightInputSchema,
  progressSchema,
  recoveryContextSchema,
  recoveryOutcomeSchema,
  recoveryRunPlanSchema,
  requestApprovalInputSchema,
  stepInputSchema,
  terminateReplacedInputSchema,
  terminateReplacedOutputSchema,
  verifyInputSchema,
} from './contracts.ts';
import type { RecoveryDeps } from './deps.ts';
import { notifyRecoveryStep, verifyStep } from './finish.ts';
import { planRecoveryStep, preflightStep } from './run.ts';
import { rebootStep } from './steps/reboot-instances.ts';
import { replaceInstanceStep } from './steps/replace-instance.ts';
import { restoreDatabaseStep } from './steps/restore-database.ts';
import { restoreVolumeStep } from './steps/restore-volume.ts';
import { commandStep } from './steps/run-recovery-command.ts';
import { terminateReplacedStep } from './steps/terminate-replaced.ts';

/** The recovery functions these handlers serve (the lock steps are the deploy's, over `leases`). */
export type RecoveryTaskFunction =
  | 'acquire-lock'
  | 'release-lock'
  | 'plan-recovery'
  | 'preflight-recovery'
  | 'request-approval'
  | 'run-recovery-command'
  | 'reboot-instances'
  | 'restore-volume'
  | 'restore-database'
  | 'replace-instance'
  | 'verify-recovery'
  | 'notify-recovery'
  | 'terminate-replaced';

/** A schema as the handlers use it (zod or zod/mini): it parses, or throws naming what is wrong. */
interface Parser<T> {
  parse(value: unknown): T;
}

/**
 * A Task's handler: parses the event with `input`, runs the step and parses its result with `output`.
 *
 * @example
 * bind(notifyRecoveryInputSchema, recoveryOutcomeSchema, (e) => notifyRecoveryStep(e, deps))
 */
export function bind<I, O>(
  input: Parser<I>,
  output: Parser<O>,
  run: (event: I, context: Context) => Promise<O> | O,
): LambdaHandler {
  return async (event: never, context: Context) => output.parse(await run(input.parse(event), context));
}

/**
 * The handler of every recovery Task, over the given dependencies.
 *
 * @example
 * const handlers = recoveryTaskHandlers(recoveryDepsWith({ … }));
 * await handlers['plan-recovery']({ input, runId: 'r1' }, context);
 */
export function recoveryTaskHandlers(deps: RecoveryDeps): Record<RecoveryTaskFunction, LambdaHandler> {
  const remaining = (context: Context) => () => context.getRemainingTimeInMillis();
  return {
    ...lockTaskHandlers(deps),
    'plan-recovery': bind(planRecoveryInputSchema, recoveryRunPlanSchema, (e) => planRecoveryStep(e, deps)),
    'preflight-recovery': bind(preflightInputSchema, recoveryContextSchema, (e) => preflightStep(e, deps)),
    'request-approval': bind(requestApprovalInputSchema, approvalRequestedSchema, (e) =>
      requestApprovalStep(e, deps),
    ),
    'run-recovery-command': bind(stepInputSchema, progressSchema, (e, c) =>
      commandStep(e, deps, remaining(c)),
    ),
    'reboot-instances': bind(stepInputSchema, progressSchema, (e, c) => rebootStep(e, deps, remaining(c))),
    'restore-volume': bind(stepInputSchema, progressSchema, (e, c) =>
      restoreVolumeStep(e, deps, remaining(c)),
    ),
    'restore-database': bind(stepInputSchema, progressSchema, (e, c) =>
      restoreDatabaseStep(e, deps, remaining(c)),
    ),
    'replace-instance': bind(stepInputSchema, progressSchema, (e, c) =>
      replaceInstanceStep(e, deps, remaining(c)),
    ),
    'verify-recovery': bind(verifyInputSchema, verificationSchema, (e, c) =>
      verifyStep(e, deps, remaining(c)),
    ),
    'notify-recovery': bind(notifyRecoveryInputSchema, recoveryOutcomeSchema, (e) =>
      notifyRecoveryStep(e, deps),
    ),
    'terminate-replaced': bind(terminateReplacedInputSchema, terminateReplacedOutputSchema, (e) =>
      terminateReplacedStep(e, deps),
    ),
  };
}

/** What a verify Task returns (verify-recovery, verify-maintenance). */
export const verificationSchema = verifyInputSchema.shape.verification;
const releasedSchema = z.strictObject({ released: z.literal(true) });

/**
 * The handlers of the deploy's lock steps (acquire-lock, release-lock) in a workflow over recovery
 * dependencies: they read only the target, its lease store and the clock.
 *
 * @example
 * const { 'acquire-lock': acquire } = lockTaskHandlers(deps);
 */
export function lockTaskHandlers(deps: RecoveryDeps): Record<'acquire-lock' | 'release-lock', LambdaHandler> {
  const lockDeps = {
    findTarget: deps.findTarget,
    driversFor: (target) => ({ leases: deps.leases(target) }) as Drivers,
    now: deps.now,
    sleep: deps.sleep,
    fallbackNotifier: deps.fallbackNotifier,
  } satisfies DeployDeps;
  return {
    'acquire-lock': bind(acquireLockInputSchema, lockSchema, (e) => acquireLockStep(e, lockDeps)),
    'release-lock': bind(releaseLockInputSchema, releasedSchema, (e) => releaseLockStep(e, lockDeps)),
  };
}
