/**
 * Backups in AWS: one `sst.aws.Function` per Lambda of `workflows/backup.ts`, each with only the
 * permissions it uses; the state machine (exactly `backupWorkflow(arns)`); the catalogue table; the
 * dump buckets the stage's targets name (encrypted, private, with each job's declared lifecycle);
 * and an EventBridge Scheduler schedule per target and backup (plus restore tests and the
 * freshness check), time zone aware, starting the state machine with a role allowed
 * `states:StartExecution` on it only.
 *
 * IAM follows the rule that anything that deletes acts only on what stepops made: snapshot and
 * recovery-point deletes carry `aws:ResourceTag/stepops:target` conditions where AWS supplies that
 * key; object deletes are scoped to each job's key prefix (S3 supplies no `s3:ExistingObjectTag`
 * for DeleteObject, so the prune checks each object's tags in code before deleting it); and
 * snapshots can only be created of tagged instances and carrying the stepops tags.
 */
import { BACKUP_LEASE_PREFIX } from '../shared/backup/lease.ts';
import { targetSchedules } from '../shared/config/schedule.ts';
import { type BackupJob, dumpBucketRegion } from '../shared/config/schema.ts';
import { leaseKey } from '../shared/drivers/aws/dynamo-lease-store.ts';
import { BACKUPS_TABLE, BY_TARGET_INDEX } from '../shared/drivers/aws/dynamo-tables.ts';
import { RESTORE_TEST_TAG } from '../shared/drivers/aws/rds-scratch-databases.ts';
import type { FunctionBundling } from './bundling.ts';
import {
  hostStatements,
  notifyStatements,
  readCommandStatements,
  type Statement,
  sendCommandStatements,
  TARGET_TAG,
} from './permissions.ts';
import type { Ec2Target } from './settings.ts';
import { scheduledRuns, standardWorkflow, workflowFunctions } from './state-machine.ts';

/** The workflow module's contract (`workflows/backup.ts`). */
export interface BackupWorkflowModule {
  BACKUP_FUNCTIONS: readonly string[];
  BACKUP_FUNCTION_TIMEOUTS: Readonly<Record<string, number>>;
  backupWorkflow(arns: Record<string, string>): object;
}

/** What the backup stack needs from the others. */
export interface BackupContext {
  stage: string;
  account: $util.Input<string>;
  targets: readonly Ec2Target[];
  alertsTopicArn: $util.Input<string>;
  /** The state table, where a run holds the lease of each job it takes. */
  stateTableArn: $util.Input<string>;
  stateTableName: $util.Input<string>;
  commandLogGroup?: string;
  links: $util.Input<unknown>[];
  workflow: BackupWorkflowModule;
  /** How each function is built: its handler's folder and the targets plugin. */
  bundling: FunctionBundling;
}

type Job<T extends BackupJob['type']> = Extract<BackupJob, { type: T }>;

/** Every job of the stage's targets of one type, with its target. */
function jobsOf<T extends BackupJob['type']>(
  targets: readonly Ec2Target[],
  type: T,
): { target: Ec2Target; job: Job<T> }[] {
  return targets.flatMap((target) =>
    (target.backup ?? []).filter((j): j is Job<T> => j.type === type).map((job) => ({ target, job })),
  );
}

/**
 * A restore from a snapshot encrypted with a customer-managed KMS key: RDS creates a grant on the key
 * and describes it on the caller's behalf, so the caller needs `kms:CreateGrant` and
 * `kms:DescribeKey` ("AWS KMS key management", Authorizing use of a customer managed key, RDS and
 * Aurora user guides), here only through RDS in the jobs' regions (`kms:ViaService`) and, for the
 * grant, only for an AWS resource (`kms:GrantIsForAWSResource`).
 */
function rdsKmsStatements(account: $util.Input<string>, regions: readonly string[]): Statement[] {
  if (regions.length === 0) return [];
  const keys = regions.map((r) => $interpolate`arn:aws:kms:${r}:${account}:key/*`);
  const via = {
    test: 'StringEquals',
    variable: 'kms:ViaService',
    values: regions.map((r) => `rds.${r}.amazonaws.com`),
  };
  return [
    {
      actions: ['kms:CreateGrant'],
      resources: keys,
      conditions: [{ test: 'Bool', variable: 'kms:GrantIsForAWSResource', values: ['true'] }, via],
    },
    { actions: ['kms:DescribeKey'], resources: keys, conditions: [via] },
  ];
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/** The key prefix of a job's dumps (as `dumpKey` in `shared/backup/steps/common.ts` writes them). */
export function dumpJobPrefix(target: string, job: { name: string; prefix: string }): string {
  const prefix = job.prefix.replace(/^\/+|\/+$/g, '');
  return `${prefix ? `${prefix}/` : ''}${target}/${job.name}/`;
}

/** The tag conditions on what stepops created: the target tag names one of the stage's targets. */
function taggedBy(names: string[], key = 'aws:ResourceTag'): Statement['conditions'] {
  return [{ test: 'StringEquals', variable: `${key}/${TARGET_TAG}`, values: names }];
}

/**
 * The IAM statements of each backup function, by function name.
 *
 * @example
 * backupStatements(context)['prune-backups'] // DeleteSnapshot only on snapshots tagged stepops:target
 */
export function backupStatements(
  context: Pick<BackupContext, 'account' | 'targets' | 'alertsTopicArn' | 'stateTableArn'> & {
    tableArn: $util.Input<string>;
  },
): Record<string, Statement[]> {
  // The job leases in the state table: backup lease items only (by partition key, "Using IAM policy
  // conditions for fine-grained access control", DynamoDB guide), never a deploy's or an approval.
  const backupLeases = (actions: string[]): Statement[] => [
    {
      actions,
      resources: [context.stateTableArn],
      conditions: [
        {
          test: 'ForAllValues:StringLike',
          variable: 'dynamodb:LeadingKeys',
          values: [`${leaseKey(BACKUP_LEASE_PREFIX)}*`],
        },
      ],
    },
  ];
  const takeLease = backupLeases(['dynamodb:GetItem', 'dynamodb:PutItem']);
  const names = unique(context.targets.map((t) => t.name));
  const account = context.account;
  const permission = { ...context, stateTableArn: context.tableArn };
  const ebs = jobsOf(context.targets, 'ebs-snapshot');
  const rds = jobsOf(context.targets, 'rds-snapshot');
  const vaults = jobsOf(context.targets, 'aws-backup');
  const dumps = jobsOf(context.targets, 'dump');
  const table: Statement[] = [
    {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
      resources: [context.tableArn, $interpolate`${context.tableArn}/index/${BY_TARGET_INDEX}`],
    },
  ];
  /** The freshness check lists each job's copies (a Query by job on the table) and writes nothing. */
  const readTable: Statement[] = [{ actions: ['dynamodb:Query'], resources: [context.tableArn] }];
  /** A restore test's result: the tested copy's entry read, then written over the outcome it read. */
  const restoreResult: Statement[] = [
    { actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resources: [context.tableArn] },
  ];
  const objects = (suffix: string) =>
    dumps.map(({ target, job }) => `arn:aws:s3:::${job.bucket}/${dumpJobPrefix(target.name, job)}${suffix}`);
  const rdsSnapshot = (region: string, target: string) =>
    $interpolate`arn:aws:rds:${region}:${account}:snapshot:stepops-${target}-*`;
  const rdsClusterSnapshot = (region: string, target: string) =>
    $interpolate`arn:aws:rds:${region}:${account}:cluster-snapshot:stepops-${target}-*`;
  const vaultArn = (region: string, vault: string) =>
    $interpolate`arn:aws:backup:${region}:${account}:backup-vault:${vault}`;
  const rtInstances = unique(rds.map(({ job }) => job.region)).map(
    (region) => $interpolate`arn:aws:rds:${region}:${account}:db:stepops-rt-*`,
  );

  const start: Statement[] = [...hostStatements(), ...sendCommandStatements(permission)];
  if (ebs.length > 0) {
    start.push(
      {
        actions: ['ec2:CreateSnapshots'],
        resources: [$interpolate`arn:aws:ec2:*:${account}:instance/*`],
        conditions: taggedBy(names),
      },
      {
        actions: ['ec2:CreateSnapshots', 'ec2:CreateSnapshot'],
        resources: [$interpolate`arn:aws:ec2:*:${account}:volume/*`],
      },
      {
        actions: ['ec2:CreateSnapshots', 'ec2:CreateSnapshot'],
        resources: ['arn:aws:ec2:*::snapshot/*'],
        conditions: taggedBy(names, 'aws:RequestTag'),
      },
      {
        actions: ['ec2:CreateTags'],
        resources: ['arn:aws:ec2:*::snapshot/*'],
        conditions: [
          {
            test: 'StringEquals',
            variable: 'ec2:CreateAction',
            values: ['CreateSnapshots', 'CreateSnapshot'],
          },
        ],
      },
    );
  }
  if (rds.length > 0) {
    start.push(
      {
        actions: ['rds:CreateDBSnapshot', 'rds:CreateDBClusterSnapshot'],
        resources: rds.map(({ job }) =>
          job.dbCluster
            ? $interpolate`arn:aws:rds:${job.region}:${account}:cluster:${job.dbCluster}`
            : $interpolate`arn:aws:rds:${job.region}:${account}:db:${job.dbInstance ?? ''}`,
        ),
      },
      {
        actions: ['rds:CreateDBSnapshot', 'rds:CreateDBClusterSnapshot', 'rds:AddTagsToResource'],
        resources: rds.flatMap(({ target, job }) => [
          rdsSnapshot(job.region, target.name),
          rdsClusterSnapshot(job.region, target.name),
        ]),
        conditions: taggedBy(names, 'aws:RequestTag'),
      },
    );
  }
  if (vaults.length > 0) {
    start.push(
      {
        actions: ['backup:StartBackupJob'],
        resources: vaults.map(({ target, job }) => vaultArn(target.hosts.region, job.vault)),
      },
      {
        actions: ['iam:PassRole'],
        resources: unique(vaults.map(({ job }) => job.iamRoleArn)),
        conditions: [
          { test: 'StringEquals', variable: 'iam:PassedToService', values: ['backup.amazonaws.com'] },
        ],
      },
    );
  }
  // The presigned PUT is signed by poll-backup once the dump is done, with its credentials: it may
  // write only under the job's prefix.
  const presign: Statement[] =
    dumps.length > 0 ? [{ actions: ['s3:PutObject', 's3:PutObjectTagging'], resources: objects('*') }] : [];

  const describe: Statement[] = [
    // DescribeSnapshots and DescribeBackupJob have no resource-level permissions.
    ...(ebs.length > 0 ? [{ actions: ['ec2:DescribeSnapshots'], resources: ['*'] }] : []),
    ...(vaults.length > 0 ? [{ actions: ['backup:DescribeBackupJob'], resources: ['*'] }] : []),
    ...(rds.length > 0
      ? [
          {
            actions: ['rds:DescribeDBSnapshots', 'rds:DescribeDBClusterSnapshots'],
            resources: rds.flatMap(({ target, job }) => [
              rdsSnapshot(job.region, target.name),
              rdsClusterSnapshot(job.region, target.name),
              job.dbCluster
                ? $interpolate`arn:aws:rds:${job.region}:${account}:cluster:${job.dbCluster}`
                : $interpolate`arn:aws:rds:${job.region}:${account}:db:${job.dbInstance ?? ''}`,
            ]),
          },
        ]
      : []),
  ];
  const readObjects: Statement[] =
    dumps.length > 0 ? [{ actions: ['s3:GetObject', 's3:GetObjectTagging'], resources: objects('*') }] : [];
  const listObjects: Statement[] =
    dumps.length > 0
      ? unique(dumps.map(({ job }) => job.bucket)).map((bucket) => ({
          actions: ['s3:ListBucket'],
          resources: [`arn:aws:s3:::${bucket}`],
          conditions: [
            {
              test: 'StringLike',
              variable: 's3:prefix',
              values: dumps
                .filter(({ job }) => job.bucket === bucket)
                .map(({ target, job }) => `${dumpJobPrefix(target.name, job)}*`),
            },
          ],
        }))
      : [];

  const prune: Statement[] = [...table, ...describe, ...readObjects, ...listObjects, ...takeLease];
  if (ebs.length > 0) {
    prune.push({
      actions: ['ec2:DeleteSnapshot'],
      resources: ['arn:aws:ec2:*::snapshot/*'],
      conditions: taggedBy(names),
    });
  }
  if (rds.length > 0) {
    prune.push({
      actions: ['rds:DeleteDBSnapshot', 'rds:DeleteDBClusterSnapshot'],
      resources: rds.flatMap(({ target, job }) => [
        rdsSnapshot(job.region, target.name),
        rdsClusterSnapshot(job.region, target.name),
      ]),
      conditions: taggedBy(names),
    });
  }
  if (vaults.length > 0) {
    const vaultRegions = unique(vaults.map(({ target }) => target.hosts.region));
    // Points of resources AWS Backup fully manages have `recovery-point` ARNs and tags (ListTags);
    // EC2 and EBS points are the AMI or snapshot itself, with its EC2 ARN and no AWS Backup tags,
    // known to stepops through the catalogue entry of the job that made them.
    const managedPoints = vaultRegions.map(
      (region) => $interpolate`arn:aws:backup:${region}:${account}:recovery-point:*`,
    );
    const ec2Points = vaultRegions.flatMap((region) => [
      `arn:aws:ec2:${region}::snapshot/*`,
      `arn:aws:ec2:${region}::image/*`,
    ]);
    prune.push(
      {
        actions: ['backup:ListRecoveryPointsByBackupVault'],
        resources: vaults.map(({ target, job }) => vaultArn(target.hosts.region, job.vault)),
      },
      { actions: ['backup:ListTags'], resources: managedPoints },
      { actions: ['backup:DescribeRecoveryPoint'], resources: [...managedPoints, ...ec2Points] },
      { actions: ['backup:DeleteRecoveryPoint'], resources: managedPoints, conditions: taggedBy(names) },
      { actions: ['backup:DeleteRecoveryPoint'], resources: ec2Points },
      {
        // "EXPIRED recovery points can be deleted with this API once the IAM role has the
        // iam:CreateServiceLinkedRole action" (AWS Backup API reference, DeleteRecoveryPoint).
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [
          $interpolate`arn:aws:iam::${account}:role/aws-service-role/backup.amazonaws.com/AWSServiceRoleForBackup`,
        ],
        conditions: [
          { test: 'StringEquals', variable: 'iam:AWSServiceName', values: ['backup.amazonaws.com'] },
        ],
      },
    );
  }
  // Deletes only under each job's prefix; each object's stepops tags are checked before its delete.
  if (dumps.length > 0) prune.push({ actions: ['s3:DeleteObject'], resources: objects('*') });

  const startRestore: Statement[] = [
    ...table,
    ...readObjects,
    ...hostStatements(),
    ...sendCommandStatements(permission),
  ];
  const pollRestore: Statement[] = [...readCommandStatements()];
  if (rtInstances.length > 0) {
    startRestore.push(
      {
        actions: ['rds:RestoreDBInstanceFromDBSnapshot', 'rds:AddTagsToResource'],
        resources: rtInstances,
        conditions: [
          { test: 'StringEquals', variable: `aws:RequestTag/${RESTORE_TEST_TAG}`, values: ['true'] },
        ],
      },
      {
        // Restoring reads the snapshot and uses the default subnet, option and parameter groups.
        actions: ['rds:RestoreDBInstanceFromDBSnapshot'],
        resources: [
          ...rds.map(({ target, job }) => rdsSnapshot(job.region, target.name)),
          ...unique(rds.map(({ job }) => job.region)).flatMap((region) => [
            $interpolate`arn:aws:rds:${region}:${account}:subgrp:*`,
            $interpolate`arn:aws:rds:${region}:${account}:og:*`,
            $interpolate`arn:aws:rds:${region}:${account}:pg:*`,
          ]),
        ],
      },
      // A retried restore finds the instance its first attempt made (RDS answers AlreadyExists).
      { actions: ['rds:DescribeDBInstances'], resources: rtInstances },
    );
    startRestore.push(...rdsKmsStatements(account, unique(rds.map(({ job }) => job.region))));
    const clusterTests = rds.filter(({ job }) => job.dbCluster && job.restoreTest);
    if (clusterTests.length > 0) {
      // An Aurora cluster snapshot restores to a temporary cluster, then one instance is created in it.
      const rtClusters = unique(clusterTests.map(({ job }) => job.region)).map(
        (region) => $interpolate`arn:aws:rds:${region}:${account}:cluster:stepops-rt-*`,
      );
      startRestore.push(
        {
          actions: ['rds:RestoreDBClusterFromSnapshot', 'rds:CreateDBInstance', 'rds:AddTagsToResource'],
          resources: [...rtClusters, ...rtInstances],
          conditions: [
            { test: 'StringEquals', variable: `aws:RequestTag/${RESTORE_TEST_TAG}`, values: ['true'] },
          ],
        },
        {
          actions: ['rds:RestoreDBClusterFromSnapshot', 'rds:CreateDBInstance'],
          resources: [
            ...clusterTests.map(({ target, job }) => rdsClusterSnapshot(job.region, target.name)),
            ...rtClusters,
            ...unique(clusterTests.map(({ job }) => job.region)).flatMap((region) => [
              $interpolate`arn:aws:rds:${region}:${account}:subgrp:*`,
              $interpolate`arn:aws:rds:${region}:${account}:og:*`,
              $interpolate`arn:aws:rds:${region}:${account}:pg:*`,
              $interpolate`arn:aws:rds:${region}:${account}:cluster-pg:*`,
            ]),
          ],
        },
        { actions: ['rds:DescribeDBClusters'], resources: rtClusters },
      );
      pollRestore.push(
        { actions: ['rds:DescribeDBClusters'], resources: rtClusters },
        {
          actions: ['rds:DeleteDBCluster'],
          resources: rtClusters,
          conditions: [
            { test: 'StringEquals', variable: `aws:ResourceTag/${RESTORE_TEST_TAG}`, values: ['true'] },
          ],
        },
      );
    }
    pollRestore.push(
      { actions: ['rds:DescribeDBInstances'], resources: rtInstances },
      {
        actions: ['rds:DeleteDBInstance'],
        resources: rtInstances,
        conditions: [
          { test: 'StringEquals', variable: `aws:ResourceTag/${RESTORE_TEST_TAG}`, values: ['true'] },
        ],
      },
    );
  }

  return {
    'plan-backup': [],
    'start-backup': [...start, ...takeLease],
    'poll-backup': [
      ...describe,
      ...readCommandStatements(),
      ...takeLease,
      ...(dumps.length > 0 ? [...presign, ...sendCommandStatements(permission)] : []),
    ],
    'record-backup': [...table, ...readObjects],
    'prune-backups': prune,
    'start-restore-test': startRestore,
    'poll-restore-test': pollRestore,
    'record-restore-test': restoreResult,
    'check-freshness': readTable,
    'notify-backup': [...notifyStatements(permission), ...backupLeases(['dynamodb:DeleteItem'])],
  };
}

/** A dump bucket of the stage: where it is, whether stepops creates it, and its lifecycle rules. */
export interface DumpBucketPlan {
  bucket: string;
  region: string;
  /** Declared `existingBucket: true`: stepops creates nothing and writes no rule on it. */
  existing: boolean;
  /** The lifecycle rules stepops writes (one per job), on a bucket it creates only. */
  rules: {
    id: string;
    status: 'Enabled';
    filter: { prefix: string };
    abortIncompleteMultipartUpload: { daysAfterInitiation: number };
    transitions?: { days: number; storageClass: string }[];
  }[];
}

/**
 * The dump buckets of the stage's targets, each in the region its S3 calls go to
 * (`dumpBucketRegion`: the job's `bucketRegion`, else the hosts' region).
 *
 * @example
 * dumpBuckets(targets) // [{ bucket: 'zmanim-prod-backups', region: 'eu-west-1', existing: false, rules: [...] }]
 * @throws Error when jobs name one bucket in two regions, or one as existing and one not
 */
export function dumpBuckets(targets: readonly Ec2Target[]): DumpBucketPlan[] {
  const dumps = jobsOf(targets, 'dump');
  return unique(dumps.map(({ job }) => job.bucket)).map((bucket) => {
    const jobs = dumps.filter(({ job }) => job.bucket === bucket);
    const where = (j: (typeof jobs)[number]) => `${j.target.name}/${j.job.name}`;
    const regions = unique(
      jobs.map(({ target, job }) => dumpBucketRegion(target, job) ?? target.hosts.region),
    );
    if (regions.length > 1) {
      throw new Error(
        `the dump bucket "${bucket}" is named in ${regions.join(' and ')} (${jobs.map((j) => `${where(j)}: ${dumpBucketRegion(j.target, j.job)}`).join(', ')}): a bucket lives in one region; set bucketRegion on these jobs or use one bucket per region`,
      );
    }
    const existing = jobs.filter(({ job }) => job.existingBucket);
    if (existing.length > 0 && existing.length < jobs.length) {
      throw new Error(
        `the dump bucket "${bucket}" is declared existingBucket by ${existing.map(where).join(', ')} but not by ${jobs
          .filter((j) => !j.job.existingBucket)
          .map(where)
          .join(', ')}: declare it the same way in every job`,
      );
    }
    return {
      bucket,
      region: regions[0] as string,
      existing: existing.length > 0,
      rules:
        existing.length > 0
          ? []
          : jobs.map(({ target, job }) => ({
              id: `stepops-${target.name}-${job.name}`.slice(0, 255),
              status: 'Enabled' as const,
              filter: { prefix: dumpJobPrefix(target.name, job) },
              abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
              ...(job.archive
                ? { transitions: [{ days: job.archive.afterDays, storageClass: job.archive.storageClass }] }
                : {}),
            })),
    };
  });
}

/** PascalCase component name of a backup function folder: `poll-backup` → `BackupPollBackup`. */
export function backupComponentName(folder: string): string {
  return `Backup${folder.replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase())}`;
}

/** A schedule's name: at most 64 characters of letters, digits, `-`, `_` and `.`. */
export function scheduleName(stage: string, target: string, what: string): string {
  return `stepops-${stage}-${target}-${what}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
}

/** One schedule to create: when, in which time zone, and the execution input it starts. */
export interface BackupSchedule {
  name: string;
  expression: string;
  timezone: string;
  input: { target: string; backup?: string; task?: 'restore-test' | 'freshness'; reason: string };
}

/**
 * Every schedule of the stage's targets: each backup, each restore test, and one freshness check
 * per target whose backups declare an RPO.
 *
 * @example
 * backupSchedules('prod', targets).map((s) => s.name) // ['stepops-prod-shop-mongodb', …]
 */
export function backupSchedules(stage: string, targets: readonly Ec2Target[]): BackupSchedule[] {
  return targets.flatMap((target) =>
    targetSchedules(target)
      .filter((schedule) => schedule.workflow === 'backup')
      .map(({ job, backup, task, expression, timezone }) => ({
        name: scheduleName(stage, target.name, task === 'restore-test' ? `${backup}-restore-test` : job),
        expression,
        timezone,
        input: {
          target: target.name,
          ...(backup ? { backup } : {}),
          ...(task ? { task } : {}),
          reason: `${task === 'restore-test' ? 'restore test' : task === 'freshness' ? 'freshness' : 'schedule'} ${expression}`,
        },
      })),
  );
}

/**
 * Creates the backup Lambdas, the state machine, the catalogue table, the dump buckets and the schedules.
 *
 * @example
 * const backup = createBackup({ ...context, workflow: await import('../workflows/backup.ts') });
 */
export function createBackup(context: BackupContext) {
  const table = new sst.aws.Dynamo('Backups', {
    ...BACKUPS_TABLE,
    transform: {
      table: (args: aws.dynamodb.TableArgs) => {
        args.billingMode = 'PAY_PER_REQUEST';
        args.pointInTimeRecovery = { enabled: true };
      },
    },
  });

  // The dump buckets stepops creates: in their region, private, encrypted, kept when the stage goes.
  const buckets: Record<string, aws.s3.Bucket> = {};
  const bucketPlans = dumpBuckets(context.targets);
  for (const plan of bucketPlans.filter((b) => !b.existing)) {
    const id = `Dumps${plan.bucket.replace(/(^|[-.])([a-z0-9])/g, (_m, _s, c: string) => c.toUpperCase())}`;
    const region = plan.region;
    // The provider refuses to create a bucket that exists already, in us-east-1 too (where a bare
    // CreateBucket of an owned bucket answers 200): stepops never takes over a bucket it did not create.
    const bucket = new aws.s3.Bucket(
      id,
      { bucket: plan.bucket, region, forceDestroy: false, tags: { 'stepops:stage': context.stage } },
      { retainOnDelete: true },
    );
    new aws.s3.BucketPublicAccessBlock(`${id}PublicAccess`, {
      bucket: bucket.id,
      region,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new aws.s3.BucketServerSideEncryptionConfiguration(`${id}Encryption`, {
      bucket: bucket.id,
      region,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms' }, bucketKeyEnabled: true }],
    });
    new aws.s3.BucketLifecycleConfiguration(`${id}Lifecycle`, {
      bucket: bucket.id,
      region,
      rules: plan.rules,
    });
    buckets[plan.bucket] = bucket;
  }

  const statements = backupStatements({ ...context, tableArn: table.arn });
  const functions = workflowFunctions({
    folders: context.workflow.BACKUP_FUNCTIONS,
    timeouts: context.workflow.BACKUP_FUNCTION_TIMEOUTS,
    settings: (folder) => {
      const permissions = statements[folder];
      return permissions && { memory: folder === 'prune-backups' ? '512 MB' : '256 MB', permissions };
    },
    componentName: backupComponentName,
    unsettled: (folder) =>
      `backup function "${folder}" has no IAM statements: add it to backupStatements in stacks/backup.ts`,
    environment: {
      STEPOPS_BACKUP_TABLE: table.name,
      STEPOPS_STATE_TABLE: context.stateTableName,
      STEPOPS_ALERTS_TOPIC_ARN: context.alertsTopicArn,
      ...(context.commandLogGroup ? { STEPOPS_COMMAND_LOG_GROUP: context.commandLogGroup } : {}),
    },
    links: context.links,
    bundling: context.bundling,
  });
  const { arns, definition, logGroup, role, policy, stateMachine } = standardWorkflow({
    component: 'Backup',
    name: `stepops-${context.stage}-backup`,
    account: context.account,
    functions,
    workflow: context.workflow.backupWorkflow,
  });

  // EventBridge Scheduler starts the state machine directly, with a role that may do only that.
  const { schedulerRole, schedules } = scheduledRuns(
    'Backup',
    context.account,
    stateMachine.arn,
    backupSchedules(context.stage, context.targets),
  );
  const link = new sst.Linkable('BackupStateMachine', {
    properties: { arn: stateMachine.arn, name: stateMachine.name },
  });
  return {
    table,
    buckets,
    bucketPlans,
    functions,
    arns,
    definition,
    logGroup,
    role,
    policy,
    stateMachine,
    schedulerRole,
    schedules,
    link,
  };
}
