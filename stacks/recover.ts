/**
 * The recovery workflow in AWS: one `sst.aws.Function` per Lambda of `workflows/recover.ts`, each
 * with only the permissions of what it calls; the Standard state machine whose definition is exactly
 * `recoverWorkflow(arns)`; and the approval endpoint on the API (`GET|POST /approvals/{runId}/{decision}`).
 *
 * Least privilege where it matters: `ec2:RunInstances` only from the declared launch templates or
 * from AMIs tagged `stepops:target`; `ec2:AssociateAddress` only on the declared Elastic IPs; RDS
 * restores only from snapshots tagged `stepops:target`, to instances named after the declared ones;
 * instance actions only on instances tagged `stepops:target`.
 */

import { type FunctionBundling, functionCode } from './bundling.ts';
import {
  executionStatusStatements,
  hostStatements,
  leaseStatements,
  notifyStatements,
  type PermissionContext,
  parameterStatements,
  readCommandStatements,
  type Statement,
  sendCommandStatements,
  TARGET_TAG,
  targetGroupStatements,
} from './permissions.ts';
import { standardWorkflow, workflowFunctions } from './state-machine.ts';
import { driverEnvironment } from './workflows.ts';

/** The workflow module's contract (`workflows/recover.ts`). */
export interface RecoverWorkflowModule {
  RECOVER_FUNCTIONS: readonly string[];
  RECOVER_FUNCTION_TIMEOUTS: Readonly<Record<string, number>>;
  recoverWorkflow(arns: Record<string, string>): object;
}

/** Memory of the recovery functions given more than 256 MB (the others), in MB; answer-approval has 256. */
export const RECOVER_FUNCTION_MEMORY_MB: Readonly<Record<string, number>> = {
  'plan-recovery': 512,
  'run-recovery-command': 512,
};

/** Everything the recovery stack needs from the others. */
export interface RecoverContext extends PermissionContext {
  stage: string;
  region: $util.Input<string>;
  stateTableName: $util.Input<string>;
  commandLogGroup?: string;
  links: $util.Input<unknown>[];
  api: sst.aws.ApiGatewayV2;
  /** The backup catalogue: where restore-dump steps find the newest good dump. */
  backupTable?: { name: $util.Input<string>; arn: $util.Input<string> };
  workflow: RecoverWorkflowModule;
  /** How each function is built: its handler's folder and the targets plugin. */
  bundling: FunctionBundling;
  /** SSM SecureString holding the key approval links are signed with. */
  approvalSecretParameter: string;
}

/** What a recovery target declares for its AWS steps, collected across the stage's targets. */
export function declaredRecovery(targets: PermissionContext['targets']) {
  const launchTemplates = new Set<string>();
  const allocations: { region: string; id: string }[] = [];
  const databases: { region: string; db: string }[] = [];
  const buckets = new Set<string>();
  for (const target of targets) {
    for (const job of target.backup ?? []) if (job.type === 'dump') buckets.add(job.bucket);
    for (const runbook of Object.values(target.recovery ?? {})) {
      for (const step of runbook.steps) {
        if (step.type === 'replace-instance') {
          if (step.launchTemplate) launchTemplates.add(`${target.hosts.region}|${step.launchTemplate.id}`);
          allocations.push({ region: target.hosts.region, id: step.elasticIpAllocationId });
        }
        if (step.type === 'restore-rds')
          databases.push({ region: step.region ?? target.hosts.region, db: step.dbInstance });
      }
    }
  }
  return {
    launchTemplates: [...launchTemplates].map((k) => {
      const [region, id] = k.split('|') as [string, string];
      return { region, id };
    }),
    allocations,
    databases,
    buckets: [...buckets].sort(),
  };
}

const names = (context: PermissionContext) => [...new Set(context.targets.map((t) => t.name))].sort();
const taggedInstances = (context: PermissionContext): Statement['conditions'] => [
  { test: 'StringEquals', variable: `aws:ResourceTag/${TARGET_TAG}`, values: names(context) },
];

/** Describe calls of the pre-flight and the waits: these EC2 actions take '*' only. */
function ec2DescribeStatements(): Statement[] {
  return [
    {
      actions: [
        'ec2:DescribeInstances',
        'ec2:DescribeInstanceStatus',
        'ec2:DescribeSnapshots',
        'ec2:DescribeImages',
        'ec2:DescribeLaunchTemplates',
        'ec2:DescribeAddresses',
        'ec2:DescribeVolumes',
        'ec2:DescribeLaunchTemplateVersions',
        'ec2:DescribeSubnets',
        'ssm:DescribeInstanceInformation',
      ],
      resources: ['*'],
    },
  ];
}

function dbArns(context: RecoverContext, suffix: string): $util.Input<string>[] {
  return declaredRecovery(context.targets).databases.map(
    ({ region, db }) => $interpolate`arn:aws:rds:${region}:${context.account}:db:${db}${suffix}`,
  );
}

function rdsDescribeStatements(context: RecoverContext): Statement[] {
  const databases = declaredRecovery(context.targets).databases;
  if (databases.length === 0) return [];
  return [
    {
      actions: ['rds:DescribeDBInstances', 'rds:DescribeDBSnapshots', 'rds:ListTagsForResource'],
      resources: [
        ...dbArns(context, ''),
        ...dbArns(context, '-*'),
        ...databases.map(({ region }) => $interpolate`arn:aws:rds:${region}:${context.account}:snapshot:*`),
      ],
    },
  ];
}

function dumpListStatements(context: RecoverContext): Statement[] {
  const { buckets } = declaredRecovery(context.targets);
  if (buckets.length === 0) return [];
  return [{ actions: ['s3:ListBucket'], resources: buckets.map((b) => `arn:aws:s3:::${b}`) }];
}

/**
 * Reading the dumps a restore-dump step downloads: the host's curl uses a GET URL this function
 * presigns, which carries this role's permission (`s3:GetObject` on the objects).
 */
function dumpReadStatements(context: RecoverContext): Statement[] {
  const { buckets } = declaredRecovery(context.targets);
  if (buckets.length === 0) return [];
  return [{ actions: ['s3:GetObject'], resources: buckets.map((b) => `arn:aws:s3:::${b}/*`) }];
}

function instanceActionStatements(context: RecoverContext, actions: string[]): Statement[] {
  return [
    {
      actions,
      resources: [$interpolate`arn:aws:ec2:*:${context.account}:instance/*`],
      conditions: taggedInstances(context),
    },
  ];
}

/** Tagging what a run replaced (the old volume or instance), with the retirement's stepops keys only. */
function replacedTagStatements(context: RecoverContext, kinds: string[]): Statement[] {
  return [
    {
      actions: ['ec2:CreateTags'],
      resources: kinds.map((k) => $interpolate`arn:aws:ec2:*:${context.account}:${k}/*`),
      conditions: [
        {
          test: 'ForAllValues:StringEquals',
          variable: 'aws:TagKeys',
          values: ['stepops:replaced-by-run', 'stepops:terminate-after'],
        },
      ],
    },
  ];
}

/** The tag keys that select the stage's ec2 hosts, and `stepops:target`. */
function selectingTagKeys(context: PermissionContext): string[] {
  const keys = context.targets.flatMap((t) =>
    t.hosts.type === 'ec2' && 'tags' in t.hosts ? Object.keys(t.hosts.tags) : [],
  );
  return [...new Set([...keys, TARGET_TAG])].sort();
}

/**
 * Retiring a replaced instance: its selecting tags and `stepops:target` removed (only those keys,
 * only on the target's instances), once it is tagged replaced.
 */
function retireStatements(context: RecoverContext): Statement[] {
  return [
    {
      actions: ['ec2:DeleteTags'],
      resources: [$interpolate`arn:aws:ec2:*:${context.account}:instance/*`],
      conditions: [
        ...(taggedInstances(context) ?? []),
        { test: 'ForAllValues:StringEquals', variable: 'aws:TagKeys', values: selectingTagKeys(context) },
      ],
    },
  ];
}

/**
 * Terminating, after the retention, only instances a run retired (tagged `stepops:replaced-by-run`).
 */
function terminateReplacedStatements(context: RecoverContext): Statement[] {
  return [
    { actions: ['ec2:DescribeInstances'], resources: ['*'] },
    {
      actions: ['ec2:TerminateInstances'],
      resources: [$interpolate`arn:aws:ec2:*:${context.account}:instance/*`],
      conditions: [
        { test: 'StringLike', variable: 'aws:ResourceTag/stepops:replaced-by-run', values: ['*'] },
      ],
    },
  ];
}

/**
 * Customer-managed KMS keys on the volumes, snapshots and DB instances a restore or a replacement
 * uses: EC2 and RDS ask KMS on the caller's behalf to create or attach an encrypted volume or
 * instance, so every statement holds only through that service in the regions stepops acts in
 * (`kms:ViaService`), and a grant only for an AWS resource (`kms:GrantIsForAWSResource`). EC2 needs
 * `kms:CreateGrant`, `kms:Decrypt`, `kms:DescribeKey`, `kms:GenerateDataKeyWithoutPlaintext` and
 * `kms:ReEncrypt*` ("Requirements for Amazon EBS encryption", EBS user guide); RDS `kms:CreateGrant`
 * and `kms:DescribeKey` ("AWS KMS key management", RDS user guide).
 */
function kmsGrantStatements(
  context: RecoverContext,
  service: 'ec2' | 'rds',
  regions: readonly string[],
): Statement[] {
  const inRegions = [...new Set(regions)].sort();
  if (inRegions.length === 0) return [];
  const keys = inRegions.map((r) => $interpolate`arn:aws:kms:${r}:${context.account}:key/*`);
  const via = {
    test: 'StringEquals',
    variable: 'kms:ViaService',
    values: inRegions.map((r) => `${service}.${r}.amazonaws.com`),
  };
  return [
    {
      actions: ['kms:CreateGrant'],
      resources: keys,
      conditions: [{ test: 'Bool', variable: 'kms:GrantIsForAWSResource', values: ['true'] }, via],
    },
    {
      actions:
        service === 'rds'
          ? ['kms:DescribeKey']
          : [
              'kms:DescribeKey',
              'kms:Decrypt',
              'kms:GenerateDataKeyWithoutPlaintext',
              'kms:ReEncryptFrom',
              'kms:ReEncryptTo',
            ],
      resources: keys,
      conditions: [via],
    },
  ];
}

/** The regions of the stage's hosts: where EC2 restores and replacements act. */
const hostRegions = (context: RecoverContext) => context.targets.map((t) => t.hosts.region);

function volumeMoveStatements(context: RecoverContext): Statement[] {
  return [
    ...instanceActionStatements(context, [
      'ec2:AttachVolume',
      'ec2:DetachVolume',
      'ec2:StopInstances',
      'ec2:StartInstances',
    ]),
    {
      actions: ['ec2:AttachVolume', 'ec2:DetachVolume'],
      resources: [$interpolate`arn:aws:ec2:*:${context.account}:volume/*`],
    },
  ];
}

/** Restoring a volume: CreateVolume only from stepops snapshots, the new volume tagged at creation. */
function restoreVolumeStatements(context: RecoverContext): Statement[] {
  return [
    ...ec2DescribeStatements(),
    ...volumeMoveStatements(context),
    {
      actions: ['ec2:CreateVolume'],
      resources: ['arn:aws:ec2:*::snapshot/*'],
      conditions: [
        { test: 'StringEquals', variable: `aws:ResourceTag/${TARGET_TAG}`, values: names(context) },
      ],
    },
    {
      actions: ['ec2:CreateVolume'],
      resources: [$interpolate`arn:aws:ec2:*:${context.account}:volume/*`],
      conditions: [
        { test: 'StringEquals', variable: `aws:RequestTag/${TARGET_TAG}`, values: names(context) },
      ],
    },
    {
      actions: ['ec2:CreateTags'],
      resources: [$interpolate`arn:aws:ec2:*:${context.account}:volume/*`],
      conditions: [{ test: 'StringEquals', variable: 'ec2:CreateAction', values: ['CreateVolume'] }],
    },
    ...replacedTagStatements(context, ['volume']),
    ...kmsGrantStatements(context, 'ec2', hostRegions(context)),
  ];
}

/**
 * Launching a replacement: RunInstances from an AMI tagged `stepops:target` or from a declared launch
 * template, its instance and volumes tagged at launch; the Elastic IPs the runbooks declare, and
 * nothing else, can be associated.
 */
function replaceInstanceStatements(context: RecoverContext): Statement[] {
  const declared = declaredRecovery(context.targets);
  const account = context.account;
  const statements: Statement[] = [
    ...ec2DescribeStatements(),
    ...volumeMoveStatements(context),
    {
      actions: ['ec2:RunInstances'],
      resources: ['arn:aws:ec2:*::image/*'],
      conditions: [
        { test: 'StringEquals', variable: `aws:ResourceTag/${TARGET_TAG}`, values: names(context) },
      ],
    },
    {
      actions: ['ec2:RunInstances'],
      resources: [
        $interpolate`arn:aws:ec2:*:${account}:instance/*`,
        $interpolate`arn:aws:ec2:*:${account}:volume/*`,
      ],
      conditions: [
        { test: 'StringEquals', variable: `aws:RequestTag/${TARGET_TAG}`, values: names(context) },
      ],
    },
    {
      actions: ['ec2:RunInstances'],
      resources: [
        $interpolate`arn:aws:ec2:*:${account}:subnet/*`,
        $interpolate`arn:aws:ec2:*:${account}:security-group/*`,
        $interpolate`arn:aws:ec2:*:${account}:network-interface/*`,
        $interpolate`arn:aws:ec2:*:${account}:key-pair/*`,
      ],
    },
    {
      actions: ['ec2:CreateTags'],
      resources: [
        $interpolate`arn:aws:ec2:*:${account}:instance/*`,
        $interpolate`arn:aws:ec2:*:${account}:volume/*`,
      ],
      conditions: [{ test: 'StringEquals', variable: 'ec2:CreateAction', values: ['RunInstances'] }],
    },
    {
      actions: ['iam:PassRole'],
      resources: [$interpolate`arn:aws:iam::${account}:role/*`],
      conditions: [{ test: 'StringEquals', variable: 'iam:PassedToService', values: ['ec2.amazonaws.com'] }],
    },
    ...replacedTagStatements(context, ['instance']),
    ...retireStatements(context),
    ...targetGroupStatements('RegisterTargets', context),
    ...targetGroupStatements('DeregisterTargets', context),
    ...kmsGrantStatements(context, 'ec2', hostRegions(context)),
  ];
  if (declared.launchTemplates.length > 0) {
    const templates = declared.launchTemplates.map(
      ({ region, id }) => $interpolate`arn:aws:ec2:${region}:${account}:launch-template/${id}`,
    );
    statements.push(
      { actions: ['ec2:RunInstances'], resources: templates },
      {
        // The template's own AMI need not be tagged: allowed only through a declared template.
        actions: ['ec2:RunInstances'],
        resources: ['arn:aws:ec2:*::image/*'],
        conditions: [
          {
            test: 'ArnEquals',
            variable: 'ec2:LaunchTemplate',
            values: declared.launchTemplates.map(
              ({ region, id }) => `arn:aws:ec2:${region}:*:launch-template/${id}`,
            ),
          },
        ],
      },
    );
  }
  if (declared.allocations.length > 0) {
    statements.push(
      {
        actions: ['ec2:AssociateAddress'],
        resources: declared.allocations.map(
          ({ region, id }) => $interpolate`arn:aws:ec2:${region}:${account}:elastic-ip/${id}`,
        ),
      },
      ...instanceActionStatements(context, ['ec2:AssociateAddress']),
    );
  }
  return statements;
}

/**
 * RDS restores: only from snapshots tagged `stepops:target`, only to instances named after the
 * declared ones (`<db>-r…`), and the rename swap of those instances.
 */
function restoreDatabaseStatements(context: RecoverContext): Statement[] {
  const declared = declaredRecovery(context.targets);
  if (declared.databases.length === 0) return [];
  const regions = [...new Set(declared.databases.map((d) => d.region))];
  const inRegions = (kind: string) =>
    regions.map((r) => $interpolate`arn:aws:rds:${r}:${context.account}:${kind}:*`);
  return [
    ...rdsDescribeStatements(context),
    {
      actions: ['rds:RestoreDBInstanceFromDBSnapshot'],
      resources: inRegions('snapshot'),
      conditions: [
        { test: 'StringEquals', variable: `rds:snapshot-tag/${TARGET_TAG}`, values: names(context) },
      ],
    },
    {
      actions: ['rds:RestoreDBInstanceFromDBSnapshot', 'rds:AddTagsToResource'],
      resources: [
        ...dbArns(context, '-*'),
        ...inRegions('subgrp'),
        ...inRegions('pg'),
        ...inRegions('og'),
        ...inRegions('secgrp'),
      ],
    },
    { actions: ['rds:ModifyDBInstance'], resources: [...dbArns(context, ''), ...dbArns(context, '-*')] },
    {
      // Enhanced Monitoring's role, set again on the restored instance (ModifyDBInstance MonitoringRoleArn).
      actions: ['iam:PassRole'],
      resources: [$interpolate`arn:aws:iam::${context.account}:role/*`],
      conditions: [
        { test: 'StringEquals', variable: 'iam:PassedToService', values: ['monitoring.rds.amazonaws.com'] },
      ],
    },
    ...kmsGrantStatements(context, 'rds', regions),
  ];
}

/** The permissions of each recovery function. */
export function recoverFunctionStatements(context: RecoverContext): Record<string, Statement[]> {
  const approvalSecret = parameterStatements(context.account, context.region, [
    context.approvalSecretParameter,
  ]);
  return {
    'plan-recovery': [],
    'acquire-lock': leaseStatements(context),
    'release-lock': leaseStatements(context),
    'preflight-recovery': [
      ...ec2DescribeStatements(),
      ...rdsDescribeStatements(context),
      ...dumpListStatements(context),
      ...(context.backupTable
        ? [
            {
              actions: ['dynamodb:Query', 'dynamodb:GetItem'],
              resources: [context.backupTable.arn, $interpolate`${context.backupTable.arn}/index/*`],
            },
          ]
        : []),
    ],
    'request-approval': [
      { actions: ['dynamodb:PutItem'], resources: [context.stateTableArn] },
      ...notifyStatements(context),
      ...approvalSecret,
    ],
    // A rolling step drains each batch from the target groups and registers it back; its health
    // gate's probes run as commands on the batch.
    'run-recovery-command': [
      ...hostStatements(),
      ...sendCommandStatements(context),
      ...readCommandStatements(),
      ...dumpReadStatements(context),
      ...targetGroupStatements('DeregisterTargets', context),
      ...targetGroupStatements('RegisterTargets', context),
      // Before each batch after the first: is its own execution still running (StopExecution)?
      ...executionStatusStatements(context.account, context.region, recoverStateMachineName(context.stage)),
    ],
    'reboot-instances': [
      ...ec2DescribeStatements(),
      ...instanceActionStatements(context, ['ec2:RebootInstances']),
    ],
    'restore-volume': restoreVolumeStatements(context),
    'restore-database': restoreDatabaseStatements(context),
    'replace-instance': replaceInstanceStatements(context),
    'verify-recovery': [...hostStatements(), ...sendCommandStatements(context), ...readCommandStatements()],
    'notify-recovery': notifyStatements(context),
    'terminate-replaced': terminateReplacedStatements(context),
  };
}

/** The name of a stage's recover state machine (its executions' ARNs are built from it). */
export function recoverStateMachineName(stage: string): string {
  return `stepops-${stage}-recover`;
}

/** PascalCase component name: `plan-recovery` → `RecoverPlanRecovery`. */
export function recoverComponentName(folder: string): string {
  return `Recover${folder.replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase())}`;
}

/**
 * Creates the recovery Lambdas, the state machine and the approval route.
 *
 * @example
 * const recover = createRecover({ ...context, workflow: await import('../workflows/recover.ts') });
 * @throws Error naming a recovery function that has no permissions decided here
 */
export function createRecover(context: RecoverContext) {
  const statements = recoverFunctionStatements(context);
  const environment = {
    ...driverEnvironment(context),
    STEPOPS_API_URL: context.api.url,
    STEPOPS_APPROVAL_SECRET_PARAMETER: context.approvalSecretParameter,
    ...(context.backupTable ? { STEPOPS_BACKUP_TABLE: context.backupTable.name } : {}),
  };
  const functions = workflowFunctions({
    // The lock functions are the deploy's handlers (same contract), deployed for this workflow.
    folders: context.workflow.RECOVER_FUNCTIONS,
    timeouts: context.workflow.RECOVER_FUNCTION_TIMEOUTS,
    settings: (name) => {
      const permissions = statements[name];
      return permissions && { memory: `${RECOVER_FUNCTION_MEMORY_MB[name] ?? 256} MB`, permissions };
    },
    componentName: recoverComponentName,
    unsettled: (name) =>
      `recovery function "${name}" has no IAM settings: add it to recoverFunctionStatements in stacks/recover.ts`,
    environment,
    links: context.links,
    bundling: context.bundling,
  });
  const { arns, definition, logGroup, role, policy, stateMachine } = standardWorkflow({
    component: 'Recover',
    name: recoverStateMachineName(context.stage),
    account: context.account,
    functions,
    workflow: context.workflow.recoverWorkflow,
  });
  const answerArgs = {
    ...functionCode(context.bundling, 'answer-approval'),
    runtime: 'nodejs24.x',
    architecture: 'arm64',
    memory: '256 MB',
    timeout: '15 seconds',
    environment,
    link: context.links,
    permissions: [
      { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [context.stateTableArn] },
      // SendTaskSuccess and SendTaskFailure have no resource-level permissions (Service
      // Authorization Reference, AWS Step Functions): the task token is what names the run.
      { actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'], resources: ['*'] },
      ...parameterStatements(context.account, context.region, [context.approvalSecretParameter]),
    ],
  } as const;
  // A GET only shows the confirmation page: it checks the link with the secret and answers nothing.
  const approve = context.api.route('GET /approvals/{runId}/{decision}', {
    ...answerArgs,
    permissions: parameterStatements(context.account, context.region, [context.approvalSecretParameter]),
  });
  const answer = context.api.route('POST /approvals/{runId}/{decision}', answerArgs);
  return { functions, arns, definition, logGroup, role, policy, stateMachine, routes: { approve, answer } };
}
