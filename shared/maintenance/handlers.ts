/**
 * The maintenance Tasks as plain handlers over explicit dependencies: each parses its input with
 * the task's schema (as the Lambda's parser middleware does), runs the step and parses its output.
 * The lock steps are the deploy's, over `leases`; the Lambdas in `functions/` wire the same steps.
 */
import type { Context } from 'aws-lambda';
import type { LambdaHandler } from '../engine/lambda.ts';
import { progressSchema } from '../recovery/contracts.ts';
import type { RecoveryDeps } from '../recovery/deps.ts';
import { bind, lockTaskHandlers, verificationSchema } from '../recovery/handlers.ts';
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

/**
 * The handler of every maintenance Task, over the given dependencies.
 *
 * @example
 * const handlers = maintenanceTaskHandlers(recoveryDepsWith({ … }));
 * await handlers['plan-maintenance']({ input: { target: 'demo', job: 'disk-hygiene' }, runId: 'r1' }, context);
 */
export function maintenanceTaskHandlers(deps: RecoveryDeps): Record<MaintenanceTaskFunction, LambdaHandler> {
  const remaining = (context: Context) => () => context.getRemainingTimeInMillis();
  return {
    'plan-maintenance': bind(planMaintenanceInputSchema, maintenanceRunPlanSchema, (e) =>
      planMaintenanceStep(e, deps),
    ),
    ...lockTaskHandlers(deps),
    'run-maintenance-step': bind(maintenanceStepInputSchema, progressSchema, (e, c) =>
      maintenanceStep(e, deps, remaining(c)),
    ),
    'verify-maintenance': bind(maintenanceVerifyInputSchema, verificationSchema, (e, c) =>
      verifyMaintenanceStep(e, deps, remaining(c)),
    ),
    'notify-maintenance': bind(notifyMaintenanceInputSchema, maintenanceOutcomeSchema, (e) =>
      notifyMaintenanceStep(e, deps),
    ),
  };
}
