/**
 * IAM statements by capability, each naming the actions a driver calls and the narrowest resources
 * they support. `Resource: '*'` appears only for actions that have no resource-level permissions
 * (the `Describe*`/`List*`/`Get*` calls noted below). Pure: the stack tests check these directly
 * and on the deployed roles.
 */

import { SNAPSHOT_TAGS } from '../shared/drivers/aws/snapshot-service.ts';
import { RUN_SHELL_SCRIPT } from '../shared/drivers/aws/ssm-command-runner.ts';
import { alertsTopicArn } from '../shared/drivers/options.ts';
import type { Ec2Target } from './settings.ts';

/** The tag an instance must carry, with the target's name as value, to take stepops commands. */
export const TARGET_TAG = SNAPSHOT_TAGS.target;

/** One IAM statement as `sst.aws.Function`'s `permissions` takes it. */
export interface Statement {
  effect?: 'allow' | 'deny';
  actions: string[];
  resources: $util.Input<string>[];
  conditions?: { test: string; variable: string; values: string[] }[];
}

/** What a capability needs to know about the stage. */
export interface PermissionContext {
  account: $util.Input<string>;
  /** The stage's targets: their names bound the tag conditions, their regions the documents. */
  targets: readonly Ec2Target[];
  stateTableArn: $util.Input<string>;
  alertsTopicArn: $util.Input<string>;
}

/**
 * What a Lambda of a workflow may do, by driver call: `send-commands` (SendCommand),
 * `read-commands` (invocation status), `hosts`, `snapshots`, `leases`, `notify`; `probes` is the
 * health gate's set (hosts, send and read commands).
 */
export type Capability =
  | 'send-commands'
  | 'read-commands'
  | 'hosts'
  | 'snapshots'
  | 'leases'
  | 'notify'
  | 'probes'
  | 'drain-targets'
  | 'register-targets';

function unique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

const targetNames = (context: PermissionContext) => unique(context.targets.map((t) => t.name));
const regions = (context: PermissionContext) => unique(context.targets.map((t) => t.hosts.region));

/**
 * `ssm:SendCommand` on the `AWS-RunShellScript` document of each target region and on instances
 * whose `stepops:target` tag names one of the stage's targets (`ssm:resourceTag/<key>` is the
 * condition key SSM documents for SendCommand on instances). An AWS-owned document's ARN is written
 * both with no account and with the caller's (the reference's format has `${Account}`): `*` in the
 * account field matches either, and the document name still pins it.
 */
export function sendCommandStatements(context: PermissionContext): Statement[] {
  return [
    {
      actions: ['ssm:SendCommand'],
      resources: regions(context).map((region) => `arn:aws:ssm:${region}:*:document/${RUN_SHELL_SCRIPT}`),
    },
    {
      actions: ['ssm:SendCommand'],
      resources: [$interpolate`arn:aws:ec2:*:${context.account}:instance/*`],
      conditions: [
        { test: 'StringEquals', variable: `ssm:resourceTag/${TARGET_TAG}`, values: targetNames(context) },
      ],
    },
    // A retried send looks for the command it already sent; ListCommands takes '*' only.
    { actions: ['ssm:ListCommands'], resources: ['*'] },
  ];
}

/**
 * Reading commands back: a command of several hosts as a whole (ListCommands by id), then each
 * invocation (GetCommandInvocation); neither has resource-level permissions.
 */
export function readCommandStatements(): Statement[] {
  return [{ actions: ['ssm:GetCommandInvocation', 'ssm:ListCommands'], resources: ['*'] }];
}

/** Finding instances: `DescribeInstances`, `DescribeInstanceStatus` and SSM's `DescribeInstanceInformation` take '*' only. */
export function hostStatements(): Statement[] {
  return [
    {
      actions: ['ec2:DescribeInstances', 'ec2:DescribeInstanceStatus', 'ssm:DescribeInstanceInformation'],
      resources: ['*'],
    },
  ];
}

/**
 * Snapshots with the stepops tags only: EBS `CreateSnapshots` of tagged instances (their volumes
 * included) creating snapshots that carry `stepops:target` at creation; `CreateTags` only as part of
 * `CreateSnapshots`; RDS snapshots of the DB instances the stage's targets name, tagged at creation.
 */
export function snapshotStatements(context: PermissionContext): Statement[] {
  const names = targetNames(context);
  const statements: Statement[] = [
    {
      actions: ['ec2:CreateSnapshots'],
      resources: [$interpolate`arn:aws:ec2:*:${context.account}:instance/*`],
      conditions: [{ test: 'StringEquals', variable: `aws:ResourceTag/${TARGET_TAG}`, values: names }],
    },
    {
      actions: ['ec2:CreateSnapshots'],
      resources: [$interpolate`arn:aws:ec2:*:${context.account}:volume/*`],
    },
    {
      actions: ['ec2:CreateSnapshots'],
      resources: ['arn:aws:ec2:*::snapshot/*'],
      conditions: [{ test: 'StringEquals', variable: `aws:RequestTag/${TARGET_TAG}`, values: names }],
    },
    {
      actions: ['ec2:CreateTags'],
      resources: ['arn:aws:ec2:*::snapshot/*'],
      conditions: [{ test: 'StringEquals', variable: 'ec2:CreateAction', values: ['CreateSnapshots'] }],
    },
    // The pre-deploy snapshots a retention lets go: found by their tags (DescribeSnapshots has no
    // resource-level permission), deleted only when tagged for one of the stage's targets.
    { actions: ['ec2:DescribeSnapshots'], resources: ['*'] },
    {
      actions: ['ec2:DeleteSnapshot'],
      resources: ['arn:aws:ec2:*::snapshot/*'],
      conditions: [{ test: 'StringEquals', variable: `aws:ResourceTag/${TARGET_TAG}`, values: names }],
    },
  ];
  const databases = context.targets.flatMap((t) => {
    const db = t.deploy?.snapshotBeforeDeploy?.rdsInstance;
    return db ? [{ region: t.hosts.region, db, target: t.name }] : [];
  });
  if (databases.length > 0) {
    statements.push(
      {
        actions: ['rds:CreateDBSnapshot'],
        resources: databases.map(
          ({ region, db }) => $interpolate`arn:aws:rds:${region}:${context.account}:db:${db}`,
        ),
      },
      {
        actions: ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'],
        resources: databases.map(
          ({ region, target }) =>
            $interpolate`arn:aws:rds:${region}:${context.account}:snapshot:stepops-${target}-*`,
        ),
        conditions: [{ test: 'StringEquals', variable: `aws:RequestTag/${TARGET_TAG}`, values: names }],
      },
      {
        // Listed by DB instance (a Describe naming no identifier is authorised against '*').
        actions: ['rds:DescribeDBSnapshots'],
        resources: databases.flatMap(({ region, db, target }) => [
          $interpolate`arn:aws:rds:${region}:${context.account}:db:${db}`,
          $interpolate`arn:aws:rds:${region}:${context.account}:snapshot:stepops-${target}-*`,
        ]),
      },
      {
        actions: ['rds:DeleteDBSnapshot'],
        resources: databases.map(
          ({ region, target }) =>
            $interpolate`arn:aws:rds:${region}:${context.account}:snapshot:stepops-${target}-*`,
        ),
        conditions: [{ test: 'StringEquals', variable: `aws:ResourceTag/${TARGET_TAG}`, values: names }],
      },
    );
  }
  return statements;
}

/** Leases in the state table: the three item calls the lease store makes, on that table only. */
export function leaseStatements(context: PermissionContext): Statement[] {
  return [
    {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resources: [context.stateTableArn],
    },
  ];
}

/** The load balancer target groups the stage's targets declare (`deploy.loadBalancer.targetGroups`). */
export function targetGroupArns(context: PermissionContext): string[] {
  return unique(context.targets.flatMap((t) => t.deploy?.loadBalancer?.targetGroups ?? []));
}

/**
 * Moving hosts out of (`DeregisterTargets`) or into (`RegisterTargets`) the target groups the
 * stage's targets declare, and reading their state (`DescribeTargetHealth`, which, like every ELBv2
 * `Describe*` call, has no resource-level permissions). None when no target names a group.
 */
export function targetGroupStatements(
  action: 'DeregisterTargets' | 'RegisterTargets',
  context: PermissionContext,
): Statement[] {
  const groups = targetGroupArns(context);
  if (groups.length === 0) return [];
  return [
    { actions: [`elasticloadbalancing:${action}`], resources: groups },
    { actions: ['elasticloadbalancing:DescribeTargetHealth'], resources: ['*'] },
  ];
}

/**
 * Publishing alerts to the stage's topic and to every topic a target names as its own
 * (`alerts.topic`: an ARN, or a name in the stage topic's account and region, as the notifier
 * resolves it with `alertsTopicArn` of `shared/drivers/options.ts`).
 */
export function notifyStatements(context: PermissionContext): Statement[] {
  const byTopic = new Map<string, Ec2Target>();
  for (const target of context.targets) {
    if (target.alerts.topic && !byTopic.has(target.alerts.topic)) byTopic.set(target.alerts.topic, target);
  }
  const resources: $util.Input<string>[] = [context.alertsTopicArn];
  for (const [topic, target] of [...byTopic].sort(([a], [b]) => a.localeCompare(b))) {
    resources.push(
      topic.startsWith('arn:')
        ? topic
        : $util.output(context.alertsTopicArn).apply((stack) => alertsTopicArn(target, stack) ?? stack),
    );
  }
  return [{ actions: ['sns:Publish'], resources }];
}

/** Capabilities that are made of others: host probes find instances and run commands on them. */
const IMPLIES: Partial<Record<Capability, Capability[]>> = {
  probes: ['hosts', 'send-commands', 'read-commands'],
};

type Basic = Exclude<Capability, 'probes'>;

/**
 * The statements for a set of capabilities, each capability's statements once.
 *
 * @example
 * statementsFor(['hosts', 'send-commands'], context)
 */
export function statementsFor(capabilities: readonly Capability[], context: PermissionContext): Statement[] {
  const expanded = new Set<Capability>();
  for (const capability of capabilities) {
    for (const c of IMPLIES[capability] ?? [capability]) expanded.add(c);
  }
  const builders: Record<Basic, () => Statement[]> = {
    hosts: () => hostStatements(),
    'send-commands': () => sendCommandStatements(context),
    'read-commands': () => readCommandStatements(),
    snapshots: () => snapshotStatements(context),
    leases: () => leaseStatements(context),
    notify: () => notifyStatements(context),
    'drain-targets': () => targetGroupStatements('DeregisterTargets', context),
    'register-targets': () => targetGroupStatements('RegisterTargets', context),
  };
  const order: Basic[] = [
    'hosts',
    'send-commands',
    'read-commands',
    'snapshots',
    'leases',
    'notify',
    'drain-targets',
    'register-targets',
  ];
  return order.filter((c) => expanded.has(c)).flatMap((c) => builders[c]());
}

/**
 * Reading SSM parameters by name (for SecureStrings encrypted with the account's default
 * `aws/ssm` key, the key policy allows decryption through SSM; a customer key needs `kms:Decrypt`).
 */
export function parameterStatements(
  account: $util.Input<string>,
  region: $util.Input<string>,
  names: readonly string[],
): Statement[] {
  return [
    {
      actions: ['ssm:GetParameter'],
      resources: unique(names).map((name) => $interpolate`arn:aws:ssm:${region}:${account}:parameter${name}`),
    },
  ];
}

/**
 * Reading the status of the executions of the given state machines (`states:DescribeExecution`,
 * whose resource is the execution ARN): a rolling step asks whether its own run still runs, health
 * whether the run holding a target's lease does. The ARNs are built from the state machines'
 * names, not their resources, so that the function does not depend on a state machine that
 * depends on it.
 *
 * @example
 * executionStatusStatements(account, region, 'stepops-prod-deploy', 'stepops-prod-recover')
 */
export function executionStatusStatements(
  account: $util.Input<string>,
  region: $util.Input<string>,
  ...stateMachineNames: string[]
): Statement[] {
  return [
    {
      actions: ['states:DescribeExecution'],
      resources: stateMachineNames.map(
        (name) => $interpolate`arn:aws:states:${region}:${account}:execution:${name}:*`,
      ),
    },
  ];
}
