/**
 * What every workflow needs on AWS around its definition: a log group, a role Step Functions takes
 * (invoke the workflow's Lambdas, deliver its logs), and the state machine; and, for the workflows
 * EventBridge Scheduler starts, a role that may start that state machine and nothing else.
 * Component names follow the workflow (`BackupWorkflow`, `BackupWorkflowRole`, …).
 */
import { type FunctionBundling, functionCode } from './bundling.ts';
import type { Statement } from './permissions.ts';

/** One workflow's state machine. */
export interface WorkflowStateMachineArgs {
  /** `Deploy`, `Backup`, `Health`, `Recover`: the prefix of the component names and statement ids. */
  component: string;
  /** The state machine's name (`stepops-prod-backup`); its log group is named after it. */
  name: string;
  account: $util.Input<string>;
  type: 'STANDARD' | 'EXPRESS';
  definition: $util.Input<string>;
  /** The Lambdas the definition invokes. */
  functionArns: $util.Input<string>[];
  retentionInDays: number;
  /**
   * `ALL` for Standard workflows; Express ones keep no history, so `ERROR` logs failed runs with
   * their data. Execution data is logged unless the definition has a callback Task ({@link logsExecutionData}).
   */
  logLevel: 'ALL' | 'ERROR';
}

/**
 * Whether a workflow's log may hold its execution data: not when it has a callback Task, whose
 * task token (`$$.Task.Token`) Step Functions logs with the Task's parameters (TaskScheduled): a
 * token answers the run, so it must not sit in a log that many can read.
 *
 * @example
 * logsExecutionData(JSON.stringify(recoverWorkflow(arns))) // false
 */
export function logsExecutionData(definition: string): boolean {
  return !definition.includes('$$.Task.Token');
}

/**
 * A role only `service` may take; with `account`, only on behalf of this account (the service
 * supplies `aws:SourceAccount` when it takes the role).
 */
function serviceRole(component: string, service: string, account?: $util.Input<string>): aws.iam.Role {
  return new aws.iam.Role(component, {
    assumeRolePolicy: $jsonStringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: service },
          Action: 'sts:AssumeRole',
          ...(account === undefined ? {} : { Condition: { StringEquals: { 'aws:SourceAccount': account } } }),
        },
      ],
    }),
  });
}

/**
 * Creates a workflow's log group, its role and policy, and its state machine.
 *
 * @example
 * const { stateMachine } = workflowStateMachine({ component: 'Backup', name: `stepops-${stage}-backup`, … });
 */
export function workflowStateMachine(args: WorkflowStateMachineArgs) {
  const logGroup = new aws.cloudwatch.LogGroup(`${args.component}WorkflowLogs`, {
    name: `/aws/vendedlogs/states/${args.name}`,
    retentionInDays: args.retentionInDays,
  });
  const role = serviceRole(`${args.component}WorkflowRole`, 'states.amazonaws.com', args.account);
  const policy = new aws.iam.RolePolicy(`${args.component}WorkflowPolicy`, {
    role: role.id,
    policy: $jsonStringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: `Invoke${args.component}Functions`,
          Effect: 'Allow',
          Action: ['lambda:InvokeFunction'],
          Resource: args.functionArns,
        },
        {
          // CloudWatch Logs delivery for Step Functions: these actions take '*' only.
          Sid: 'DeliverExecutionLogs',
          Effect: 'Allow',
          Action: [
            'logs:CreateLogDelivery',
            'logs:GetLogDelivery',
            'logs:UpdateLogDelivery',
            'logs:DeleteLogDelivery',
            'logs:ListLogDeliveries',
            'logs:PutResourcePolicy',
            'logs:DescribeResourcePolicies',
            'logs:DescribeLogGroups',
          ],
          Resource: ['*'],
        },
      ],
    }),
  });
  const stateMachine = new aws.sfn.StateMachine(
    `${args.component}Workflow`,
    {
      name: args.name,
      type: args.type,
      roleArn: role.arn,
      definition: args.definition,
      loggingConfiguration: {
        logDestination: $interpolate`${logGroup.arn}:*`,
        includeExecutionData: $util.output(args.definition).apply(logsExecutionData),
        level: args.logLevel,
      },
    },
    { dependsOn: [policy] },
  );
  return { logGroup, role, policy, stateMachine };
}

/**
 * What starts a workflow on a schedule: an EventBridge Scheduler schedule, or a scheduled
 * EventBridge rule (health checks: see stacks/health.ts).
 */
export type WorkflowStarter = 'Scheduler' | 'Rule';

/**
 * Creates the role a schedule starts a workflow with: `states:StartExecution` on that state machine
 * only. Scheduler's role is trusted only on behalf of this account (Scheduler supplies
 * `aws:SourceAccount`); a rule's role is trusted by EventBridge without that condition, because no
 * AWS page we found says EventBridge supplies the key when it takes a target's role, and a condition
 * on a key that is not supplied would refuse every start. Either role is given to a schedule or a
 * rule only by a principal of this account allowed `iam:PassRole` on it.
 *
 * @example
 * const { role, policy } = startRoleFor('Backup', 'Scheduler', account, stateMachine.arn);
 */
export function startRoleFor(
  component: string,
  starter: WorkflowStarter,
  account: $util.Input<string>,
  stateMachineArn: $util.Input<string>,
) {
  const role =
    starter === 'Scheduler'
      ? serviceRole(`${component}SchedulerRole`, 'scheduler.amazonaws.com', account)
      : serviceRole(`${component}RuleRole`, 'events.amazonaws.com');
  const policy = new aws.iam.RolePolicy(`${component}${starter}Policy`, {
    role: role.id,
    policy: $jsonStringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: `Start${component}Runs`,
          Effect: 'Allow',
          Action: ['states:StartExecution'],
          Resource: [stateMachineArn],
        },
      ],
    }),
  });
  return { role, policy };
}

/** How one workflow Lambda runs and what it may call. */
export interface WorkflowFunctionSettings {
  memory: `${number} MB`;
  permissions: Statement[];
}

/** A workflow's Lambdas: one per folder, each with its own settings and timeout. */
export interface WorkflowFunctionsArgs {
  /** The workflow module's function folders (`BACKUP_FUNCTIONS`, …). */
  folders: readonly string[];
  /** Each folder's timeout in seconds, from the workflow module. */
  timeouts: Readonly<Record<string, number>>;
  /** Each folder's memory and permissions; `undefined` when none are decided (the deploy is refused). */
  settings(folder: string): WorkflowFunctionSettings | undefined;
  /** The component name of a folder's function (`plan-recovery` → `RecoverPlanRecovery`). */
  componentName(folder: string): string;
  /** The message naming a folder with no settings or no timeout, and where to add them. */
  unsettled(folder: string): string;
  environment: $util.Input<Record<string, $util.Input<string>>>;
  links: $util.Input<unknown>[];
  bundling: FunctionBundling;
}

/**
 * Creates a workflow's Lambdas (Node 24, arm64), keyed by folder.
 *
 * @example
 * const functions = workflowFunctions({ folders: ['plan-backup'], timeouts: { 'plan-backup': 30 }, … });
 * @throws Error with `unsettled(folder)` when a folder has no settings or no timeout
 */
export function workflowFunctions(args: WorkflowFunctionsArgs): Record<string, sst.aws.Function> {
  const functions: Record<string, sst.aws.Function> = {};
  for (const folder of args.folders) {
    const settings = args.settings(folder);
    const timeout = args.timeouts[folder];
    if (!settings || timeout === undefined) throw new Error(args.unsettled(folder));
    functions[folder] = new sst.aws.Function(args.componentName(folder), {
      ...functionCode(args.bundling, folder),
      runtime: 'nodejs24.x',
      architecture: 'arm64',
      memory: settings.memory,
      timeout: `${timeout} seconds`,
      environment: args.environment,
      link: args.links,
      permissions: settings.permissions,
    });
  }
  return functions;
}

/** A Standard workflow over its Lambdas. */
export interface StandardWorkflowArgs {
  /** `Deploy`, `Backup`, …: the prefix of the component names and statement ids. */
  component: string;
  /** The state machine's name (`stepops-prod-backup`). */
  name: string;
  account: $util.Input<string>;
  functions: Record<string, sst.aws.Function>;
  /** The definition for the deployed ARNs by folder (the workflow module's `…Workflow(arns)`). */
  workflow(arns: Record<string, string>): object;
}

/**
 * Creates a Standard workflow's state machine (90 days of logs, level `ALL`) whose definition is
 * `workflow(arns)` with its Lambdas' ARNs.
 *
 * @example
 * const { stateMachine } = standardWorkflow({ component: 'Backup', name, account, functions, workflow: backupWorkflow });
 */
export function standardWorkflow(args: StandardWorkflowArgs) {
  const arns = Object.fromEntries(Object.entries(args.functions).map(([folder, fn]) => [folder, fn.arn]));
  const definition = $jsonStringify($resolve(arns).apply((resolved) => args.workflow(resolved)));
  const machine = workflowStateMachine({
    component: args.component,
    name: args.name,
    account: args.account,
    type: 'STANDARD',
    definition,
    functionArns: Object.values(arns),
    retentionInDays: 90,
    logLevel: 'ALL',
  });
  return { arns, definition, ...machine };
}

/** One schedule that starts a workflow: its name, when, in which time zone, and the execution input. */
export interface WorkflowSchedule {
  name: string;
  expression: string;
  timezone: string;
  input: object;
}

/**
 * Creates the EventBridge Scheduler schedules that start a state machine directly, with a role that
 * may do only that ({@link startRoleFor}); a start that fails is retried 3 times within an hour.
 *
 * @example
 * const { schedulerRole, schedules } = scheduledRuns('Backup', account, stateMachine.arn, backupSchedules(stage, targets));
 */
export function scheduledRuns(
  component: string,
  account: $util.Input<string>,
  stateMachineArn: $util.Input<string>,
  schedules: readonly WorkflowSchedule[],
) {
  const { role: schedulerRole, policy: schedulerPolicy } = startRoleFor(
    component,
    'Scheduler',
    account,
    stateMachineArn,
  );
  const created = schedules.map(
    (schedule, i) =>
      new aws.scheduler.Schedule(
        `${component}Schedule${i}`,
        {
          name: schedule.name,
          scheduleExpression: schedule.expression,
          scheduleExpressionTimezone: schedule.timezone,
          flexibleTimeWindow: { mode: 'OFF' },
          target: {
            arn: stateMachineArn,
            roleArn: schedulerRole.arn,
            input: JSON.stringify(schedule.input),
            retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
          },
        },
        { dependsOn: [schedulerPolicy] },
      ),
  );
  return { schedulerRole, schedules: created };
}
