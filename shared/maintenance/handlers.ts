/**
 * The maintenance Tasks as plain handlers over explicit dependencies: each parses its input with
 * the task's schema (as the Lambda's parser middleware does), runs the step and parses its output.
 * The lock steps are the deploy's, over `leases`; the Lambdas in `functions/` wire the same steps.
 */
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { acquireLockInputSchema, lockSchema, releaseLockInputSchema } from '../deploy/contracts.ts';
import type { DeployDeps } from '../deploy/deps.ts';
import { acquireLockStep, releaseLockStep } from '../deploy/steps.ts';
import type { Drivers } from '../drivers/index.ts';
import type { LambdaHandler } from '../engine/lambda.ts';
import { progressSchema, verifyInputSchema } from '../recovery/contracts.ts';
import type { RecoveryDeps } from '../recovery/deps.ts';
import {
  maintenanceOutcomeSchema,
  maintenanceRunPlanSchema,
  maintenanceStepInputSchema,
  maintenanceVerifyInputSchema,
  notifyMaintenanceInputSchema,
  planMaintenanceInputSchema,
} from './contracts.ts';
import { maintenanceStep, notifyMaintenanceStep, planMaintenanceStep, verifyMaintenanceStep } from './run.ts';

/** The functions of the maintenance workflow (`workflows/maintain.ts`). */
export type MaintenanceTaskFunction =
  | 'plan-maintenance'
  | 'acquire-lock'
  | 'run-maintenance-step'
  | 'verify-maintenance'
  | 'release-lock'
  | 'notify-maintenance';

interface Parser<T> {
  parse(value: unknown): T;
}

function bind<I, O>(
  input: Parser<I>,
  output: Parser<O>,
  run: (event: I, context: Context) => Promise<O> | O,
): LambdaHandler {
  return async (event: never, context: Context) => output.parse(await run(input.parse(event), context));
}

const verificationSchema = verifyInputSchema.shape.verification;
const releasedSchema = z.strictObject({ released: z.literal(true) });

/**
 * The handler of every maintenance Task, over the given dependencies.
 *
 * @example
 * const handlers = maintenanceTaskHandlers(recoveryDepsWith({ … }));
 * await handlers['plan-maintenance']({ input: { target: 'demo', job: 'disk-hygiene' }, runId: 'r1' }, context);
 */
export function maintenanceTaskHandlers(deps: RecoveryDeps): Record<MaintenanceTaskFunction, LambdaHandler> {
  const remaining = (context: Context) => () => context.getRemainingTimeInMillis();
  const lockDeps = {
    findTarget: deps.findTarget,
    driversFor: (target) => ({ leases: deps.leases(target) }) as Drivers,
    now: deps.now,
    sleep: deps.sleep,
    fallbackNotifier: deps.fallbackNotifier,
  } satisfies DeployDeps;
  return {
    'plan-maintenance': bind(planMaintenanceInputSchema, maintenanceRunPlanSchema, (e) =>
      planMaintenanceStep(e, deps),
    ),
    'acquire-lock': bind(acquireLockInputSchema, lockSchema, (e) => acquireLockStep(e, lockDeps)),
    'run-maintenance-step': bind(maintenanceStepInputSchema, progressSchema, (e, c) =>
      maintenanceStep(e, deps, remaining(c)),
    ),
    'verify-maintenance': bind(maintenanceVerifyInputSchema, verificationSchema, (e, c) =>
      verifyMaintenanceStep(e, deps, remaining(c)),
    ),
    'release-lock': bind(releaseLockInputSchema, releasedSchema, (e) => releaseLockStep(e, lockDeps)),
    'notify-maintenance': bind(notifyMaintenanceInputSchema, maintenanceOutcomeSchema, (e) =>
      notifyMaintenanceStep(e, deps),
    ),
  };
}
