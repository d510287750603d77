/**
 * The deploy workflow in AWS: one `sst.aws.Function` per Lambda of `workflows/deploy.ts`, each with
 * only the permissions of the drivers it calls, and the state machine whose definition is exactly
 * `deployWorkflow(arns)` with the deployed ARNs and a `TimeoutSeconds` covering the longest real run
 * of the stage's targets, logging to CloudWatch Logs.
 */
import type { Target } from '../shared/config/schema.ts';
import type { FunctionBundling } from './bundling.ts';
import { type Capability, type PermissionContext, statementsFor } from './permissions.ts';
import { standardWorkflow, workflowFunctions } from './state-machine.ts';

/** How each deploy Lambda runs, and what it may call. */
export interface FunctionSettings {
  capabilities: Capability[];
  memory: `${number} MB`;
}

/**
 * Settings by function folder name (`DEPLOY_FUNCTIONS` of `workflows/deploy.ts`). A deploy function
 * missing here refuses the deploy: each one's IAM is decided here, never by default. Timeouts come
 * from the workflow (`DEPLOY_FUNCTION_TIMEOUTS`: under each Task's timeout, above the long polls).
 */
export const DEPLOY_FUNCTION_SETTINGS: Record<string, FunctionSettings> = {
  'plan-deploy': { capabilities: [], memory: '512 MB' },
  // The lease, then the hosts: what acquire-lock and resolve-hosts need, together.
  'claim-hosts': { capabilities: ['leases', 'hosts'], memory: '256 MB' },
  'create-snapshots': { capabilities: ['snapshots'], memory: '256 MB' },
  'send-command': { capabilities: ['send-commands', 'leases'], memory: '512 MB' },
  'poll-command': { capabilities: ['read-commands'], memory: '256 MB' },
  'check-health': { capabilities: ['probes'], memory: '512 MB' },
  'drain-targets': { capabilities: ['drain-targets'], memory: '256 MB' },
  'register-targets': { capabilities: ['register-targets'], memory: '256 MB' },
  'describe-batch-failure': { capabilities: [], memory: '256 MB' },
  'plan-rollback': { capabilities: [], memory: '256 MB' },
  notify: { capabilities: ['leases', 'notify'], memory: '256 MB' },
};

/** The workflow module's contract (`workflows/deploy.ts`). */
export interface DeployWorkflowModule {
  /** Function folder names under `functions/`, one Lambda each. */
  DEPLOY_FUNCTIONS: readonly string[];
  /** Lambda timeout of each function, in seconds. */
  DEPLOY_FUNCTION_TIMEOUTS: Readonly<Record<string, number>>;
  /** The ASL definition for the deployed Lambda ARNs. */
  deployWorkflow(arns: Record<string, string>, options?: { timeoutSeconds?: number }): object;
  /** The state machine's `TimeoutSeconds` for the stage's targets: their longest real run. */
  deployTimeoutSeconds(targets: readonly Target[]): number;
}

/** Lambda environment the drivers read (`awsResourceNames()` in `shared/drivers/index.ts`). */
export function driverEnvironment(context: {
  stateTableName: $util.Input<string>;
  alertsTopicArn: $util.Input<string>;
  commandLogGroup?: string;
}): Record<string, $util.Input<string>> {
  return {
    STEPOPS_STATE_TABLE: context.stateTableName,
    STEPOPS_ALERTS_TOPIC_ARN: context.alertsTopicArn,
    ...(context.commandLogGroup ? { STEPOPS_COMMAND_LOG_GROUP: context.commandLogGroup } : {}),
  };
}

/** The name of a stage's deploy state machine (its executions' ARNs are built from it). */
export function deployStateMachineName(stage: string): string {
  return `stepops-${stage}-deploy`;
}

/** PascalCase component name of a function folder: `wait-command` → `DeployWaitCommand`. */
export function functionComponentName(folder: string): string {
  return `Deploy${folder.replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase())}`;
}

/** Everything the deploy stack needs from the others. */
export interface WorkflowsContext extends PermissionContext {
  stage: string;
  stateTableName: $util.Input<string>;
  /** Log group for the full output of commands; none when omitted. */
  commandLogGroup?: string;
  links: $util.Input<unknown>[];
  workflow: DeployWorkflowModule;
  /** How each function is built: its handler's folder and the targets plugin. */
  bundling: FunctionBundling;
}

/**
 * Creates the deploy Lambdas and the state machine.
 *
 * @example
 * const deploy = createWorkflows({ ...context, workflow: await import('../workflows/deploy.ts') });
 * @throws Error naming a deploy function that has no settings in {@link DEPLOY_FUNCTION_SETTINGS}
 */
export function createWorkflows(context: WorkflowsContext) {
  const functions = workflowFunctions({
    folders: context.workflow.DEPLOY_FUNCTIONS,
    timeouts: context.workflow.DEPLOY_FUNCTION_TIMEOUTS,
    settings: (folder) => {
      const settings = DEPLOY_FUNCTION_SETTINGS[folder];
      return (
        settings && { memory: settings.memory, permissions: statementsFor(settings.capabilities, context) }
      );
    },
    componentName: functionComponentName,
    unsettled: (folder) =>
      `deploy function "${folder}" has no IAM and runtime settings: add it to DEPLOY_FUNCTION_SETTINGS in stacks/workflows.ts`,
    environment: driverEnvironment(context),
    links: context.links,
    bundling: context.bundling,
  });
  const timeoutSeconds = context.workflow.deployTimeoutSeconds(context.targets);
  const { arns, definition, logGroup, role, policy, stateMachine } = standardWorkflow({
    component: 'Deploy',
    name: deployStateMachineName(context.stage),
    account: context.account,
    functions,
    workflow: (resolved) => context.workflow.deployWorkflow(resolved, { timeoutSeconds }),
  });
  const link = new sst.Linkable('DeployStateMachine', {
    properties: { arn: stateMachine.arn, name: stateMachine.name },
  });
  return { functions, arns, definition, logGroup, role, policy, stateMachine, link };
}
