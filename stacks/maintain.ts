/**
 * The maintenance workflow in AWS: one `sst.aws.Function` per Lambda of `workflows/maintain.ts`, each
 * with only the permissions of what it calls; the Standard state machine whose definition is exactly
 * `maintainWorkflow(arns)`; and an EventBridge Scheduler schedule per maintenance job of each
 * target, in the job's time zone, starting the state machine with a role that may do only that.
 */

import { targetSchedules } from '../shared/config/schedule.ts';
import { scheduleName } from './backup.ts';
import type { FunctionBundling } from './bundling.ts';
import {
  type Capability,
  executionStatusStatements,
  type PermissionContext,
  statementsFor,
} from './permissions.ts';
import type { Ec2Target } from './settings.ts';
import { scheduledRuns, standardWorkflow, workflowFunctions } from './state-machine.ts';
import { driverEnvironment } from './workflows.ts';

/** The workflow module's contract (`workflows/maintain.ts`). */
export interface MaintainWorkflowModule {
  MAINTAIN_FUNCTIONS: readonly string[];
  MAINTAIN_FUNCTION_TIMEOUTS: Readonly<Record<string, number>>;
  maintainWorkflow(arns: Record<string, string>): object;
}

/**
 * What each maintenance function may call. A function missing here refuses the deploy: each one's
 * IAM is decided here, never by default.
 */
export const MAINTAIN_FUNCTION_CAPABILITIES: Readonly<Record<string, Capability[]>> = {
  'plan-maintenance': [],
  'acquire-lock': ['leases'],
  // The rolling step: resolve the hosts, send and read the command, drain and register each batch,
  // the health gate between batches.
  'run-maintenance-step': [
    'hosts',
    'send-commands',
    'read-commands',
    'probes',
    'drain-targets',
    'register-targets',
  ],
  'verify-maintenance': ['hosts', 'probes'],
  'release-lock': ['leases'],
  'notify-maintenance': ['notify'],
};

/** Everything the maintenance stack needs from the others. */
export interface MaintainContext extends PermissionContext {
  stage: string;
  /** The stage's region (the executions' ARNs); any region when omitted. */
  region?: $util.Input<string>;
  stateTableName: $util.Input<string>;
  commandLogGroup?: string;
  links: $util.Input<unknown>[];
  workflow: MaintainWorkflowModule;
  /** How every function is built (the handlers' folder and the plugins). */
  bundling: FunctionBundling;
}

/** The name of a stage's maintenance state machine (its executions' ARNs are built from it). */
export function maintainStateMachineName(stage: string): string {
  return `stepops-${stage}-maintenance`;
}

/** PascalCase component name: `plan-maintenance` → `MaintainPlanMaintenance`. */
export function maintainComponentName(folder: string): string {
  return `Maintain${folder.replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase())}`;
}

/** One maintenance schedule to create: when, in which time zone, and the execution input it starts. */
export interface MaintenanceSchedule {
  name: string;
  expression: string;
  timezone: string;
  input: { target: string; job: string; trigger: 'schedule'; reason: string };
}

/**
 * Every maintenance schedule of the stage's targets: one per job, in the job's time zone.
 *
 * @example
 * maintenanceSchedules('prod', targets).map((s) => s.name) // ['stepops-prod-datizmo-maintain-certificates', …]
 */
export function maintenanceSchedules(stage: string, targets: readonly Ec2Target[]): MaintenanceSchedule[] {
  return targets.flatMap((target) =>
    targetSchedules(target)
      .filter((schedule) => schedule.workflow === 'maintenance' && schedule.maintenance)
      .map(({ maintenance, expression, timezone }) => ({
        name: scheduleName(stage, target.name, `maintain-${maintenance}`),
        expression,
        timezone,
        input: {
          target: target.name,
          job: maintenance as string,
          trigger: 'schedule' as const,
          reason: `schedule ${expression}${timezone === 'UTC' ? '' : ` ${timezone}`}`,
        },
      })),
  );
}

/**
 * Creates the maintenance Lambdas, the state machine and the schedules.
 *
 * @example
 * const maintain = createMaintain({ ...context, workflow: await import('../workflows/maintain.ts') });
 * @throws Error naming a maintenance function that has no permissions decided here
 */
export function createMaintain(context: MaintainContext) {
  const functions = workflowFunctions({
    // The lock functions are the deploy's handlers (same contract), deployed for this workflow.
    folders: context.workflow.MAINTAIN_FUNCTIONS,
    timeouts: context.workflow.MAINTAIN_FUNCTION_TIMEOUTS,
    settings: (name) => {
      const capabilities = MAINTAIN_FUNCTION_CAPABILITIES[name];
      if (!capabilities) return undefined;
      const memory = name === 'plan-maintenance' || name === 'run-maintenance-step' ? '512 MB' : '256 MB';
      const permissions = statementsFor(capabilities, context);
      // The rolling step asks, before each batch after the first, whether its execution still runs.
      if (name === 'run-maintenance-step') {
        permissions.push(
          ...executionStatusStatements(
            context.account,
            context.region ?? '*',
            maintainStateMachineName(context.stage),
          ),
        );
      }
      return { memory, permissions };
    },
    componentName: maintainComponentName,
    unsettled: (name) =>
      `maintenance function "${name}" has no IAM settings: add it to MAINTAIN_FUNCTION_CAPABILITIES in stacks/maintain.ts`,
    environment: driverEnvironment(context),
    links: context.links,
    bundling: context.bundling,
  });
  const { arns, definition, logGroup, role, policy, stateMachine } = standardWorkflow({
    component: 'Maintain',
    name: maintainStateMachineName(context.stage),
    account: context.account,
    functions,
    workflow: context.workflow.maintainWorkflow,
  });
  // EventBridge Scheduler starts the state machine directly, with a role that may do only that.
  const { schedulerRole, schedules } = scheduledRuns(
    'Maintain',
    context.account,
    stateMachine.arn,
    maintenanceSchedules(context.stage, context.targets),
  );
  return { functions, arns, definition, logGroup, role, policy, stateMachine, schedulerRole, schedules };
}
