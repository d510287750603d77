/**
 * What AWS authorises for one SDK command: the IAM action, each resource the request is authorised
 * against (with the context keys AWS supplies for that resource), and the further authorisations a
 * request implies (tagging on create, passing a role). Written from each service's page of the
 * Service Authorization Reference ("Actions, resources, and condition keys for Amazon EC2", …):
 *
 * - a Describe/List call that names no identifier is authorised against `*`;
 * - EC2 and RDS creates that carry tags also need `ec2:CreateTags` (with `ec2:CreateAction`) and
 *   `rds:AddTagsToResource` ("Grant permission to tag resources during creation" in the EC2 user
 *   guide; "Tagging Amazon RDS resources" in the RDS user guide);
 * - `aws:ResourceTag/<key>` carries the tags the resource has (as the mocked AWS reported them, or
 *   as a create request gave them), `aws:RequestTag/<key>` and `aws:TagKeys` the tags a request
 *   sets.
 *
 * Only the keys the reference lists for the action and resource type reach the evaluation: the
 * simulator drops the others (`ignoredContextKeys`), as AWS never supplies them.
 */
import { BACKUPS_TABLE, STATE_TABLE } from '../../shared/drivers/aws/dynamo-tables.ts';
import { kmsKeyOf, tagsOf, volumesOf } from './recorder.ts';

/** One resource a request is authorised against, with its request context. */
export interface AuthorisedResource {
  arn: string;
  context: Record<string, string | string[]>;
}

/** One authorisation a call needs: an action on each of its resources. */
export interface Authorisation {
  action: string;
  resources: AuthorisedResource[];
}

/** A call, as the mapping needs it. */
export interface CallInput {
  client: string;
  command: string;
  input: Record<string, unknown>;
  region: string;
  account: string;
}

/** The IAM service prefix of each SDK client. */
export const SERVICE_PREFIX: Record<string, string> = {
  EC2Client: 'ec2',
  SSMClient: 'ssm',
  RDSClient: 'rds',
  S3Client: 's3',
  BackupClient: 'backup',
  SNSClient: 'sns',
  DynamoDBClient: 'dynamodb',
  ElasticLoadBalancingV2Client: 'elasticloadbalancing',
  SFNClient: 'states',
  SQSClient: 'sqs',
};

/** Commands whose IAM action is not `<prefix>:<command>`. */
const ACTION_NAMES: Record<string, string> = {
  's3:ListObjectsV2': 's3:ListBucket',
  's3:HeadObject': 's3:GetObject',
};

const resourceTags = (tags: Record<string, string>) =>
  Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
const requestTagContext = (tags: Record<string, string>): Record<string, string | string[]> =>
  Object.keys(tags).length === 0
    ? {}
    : {
        ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
        'aws:TagKeys': Object.keys(tags),
      };

type TagList = { Key?: string; Value?: string }[] | undefined;
const tagMap = (list: TagList): Record<string, string> =>
  Object.fromEntries((list ?? []).map((t) => [String(t.Key), String(t.Value ?? '')]));
function specTags(input: Record<string, unknown>, type: string): Record<string, string> {
  const specs = (input.TagSpecifications ?? []) as { ResourceType?: string; Tags?: TagList }[];
  return tagMap(specs.filter((s) => s.ResourceType === type).flatMap((s) => s.Tags ?? []));
}

/** The EC2 ARN of a resource id (`i-`, `vol-`, `snap-`, `ami-`, `eipalloc-`, `lt-`). */
export function ec2Arn(id: string, region: string, account: string): string {
  if (id.startsWith('snap-')) return `arn:aws:ec2:${region}::snapshot/${id}`;
  if (id.startsWith('ami-')) return `arn:aws:ec2:${region}::image/${id}`;
  const kind = id.startsWith('i-')
    ? 'instance'
    : id.startsWith('vol-')
      ? 'volume'
      : id.startsWith('eipalloc-')
        ? 'elastic-ip'
        : id.startsWith('lt-')
          ? 'launch-template'
          : 'unknown';
  return `arn:aws:ec2:${region}:${account}:${kind}/${id}`;
}

/** An EC2 resource by id, with the tags it is known to carry. */
const ec2Existing = (id: string, region: string, account: string): AuthorisedResource => ({
  arn: ec2Arn(id, region, account),
  context: { ...resourceTags(tagsOf(id)), 'ec2:Region': region },
});

/**
 * What EC2 or RDS asks KMS on the caller's behalf when a request makes a resource encrypted with a
 * customer-managed key. The service makes these calls, so each carries `kms:ViaService`
 * (`<service>.<region>.amazonaws.com`), and the grant `kms:GrantIsForAWSResource`:
 *
 * - EC2: `kms:CreateGrant`, `kms:Decrypt`, `kms:DescribeKey`, `kms:GenerateDataKeyWithoutPlaintext`
 *   and `kms:ReEncrypt*` ("Requirements for Amazon EBS encryption", Permissions for users, in the
 *   EBS user guide);
 * - RDS: `kms:CreateGrant` and `kms:DescribeKey` ("AWS KMS key management", Authorizing use of a
 *   customer managed key, in the RDS and Aurora user guides: narrowed with `kms:ViaService`
 *   `rds.<region>.amazonaws.com`).
 */
function kmsOnBehalf(
  service: 'ec2' | 'rds',
  keyId: string,
  region: string,
  account: string,
): Authorisation[] {
  const arn = keyId.startsWith('arn:') ? keyId : `arn:aws:kms:${region}:${account}:key/${keyId}`;
  const via = { 'kms:ViaService': `${service}.${region}.amazonaws.com` };
  const uses =
    service === 'rds'
      ? ['kms:DescribeKey']
      : [
          'kms:Decrypt',
          'kms:DescribeKey',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
        ];
  return [
    {
      action: 'kms:CreateGrant',
      resources: [{ arn, context: { ...via, 'kms:GrantIsForAWSResource': 'true' } }],
    },
    ...uses.map((action) => ({ action, resources: [{ arn, context: via }] })),
  ];
}

/**
 * The KMS calls RDS makes for a restore from an encrypted snapshot: with the key the request names,
 * else the snapshot's own (the restored instance or cluster is encrypted with it: API reference,
 * RestoreDBInstanceFromDBSnapshot and RestoreDBClusterFromSnapshot, `KmsKeyId`). An unencrypted
 * snapshot, or one whose key nobody reported, needs none.
 */
function rdsRestoreKms(
  kind: 'snapshot' | 'cluster-snapshot',
  snapshot: string,
  requestKey: unknown,
  region: string,
  account: string,
): Authorisation[] {
  const key = requestKey ? str(requestKey) : kmsKeyOf(`rds:${kind}:${snapshot.split(':').at(-1)}`);
  return key ? kmsOnBehalf('rds', key, region, account) : [];
}

/** Ids of the resources a create request makes (AWS authorises the new resource's ARN). */
const NEW = {
  snapshot: 'snap-0000000000000new0',
  volume: 'vol-0000000000000new0',
  instance: 'i-0000000000000new0',
  networkInterface: 'eni-0000000000000new0',
};

/** The partition keys of stepops' tables (`shared/drivers/aws/dynamo-tables.ts`). */
const PARTITION_KEYS: readonly string[] = [
  STATE_TABLE.primaryIndex.hashKey,
  BACKUPS_TABLE.primaryIndex.hashKey,
];

/**
 * `dynamodb:LeadingKeys`: the partition key value of the item a request names (its `Key`, or the
 * `Item` of a PutItem), or the one a table Query's key condition sets ("Using IAM policy conditions
 * for fine-grained access control", DynamoDB developer guide).
 */
function leadingKey(input: Record<string, unknown>): string | undefined {
  type Item = Record<string, { S?: string; N?: string }>;
  const item = (input.Key ?? input.Item) as Item | undefined;
  if (item) {
    const name = PARTITION_KEYS.find((key) => item[key] !== undefined);
    return name === undefined ? undefined : (item[name]?.S ?? item[name]?.N);
  }
  const condition = str(input.KeyConditionExpression);
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Item;
  for (const [, left, right] of condition.matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    const name = left?.startsWith('#') ? names[left] : left;
    if (name && PARTITION_KEYS.includes(name)) return values[String(right)]?.S ?? values[String(right)]?.N;
  }
  return undefined;
}

const STAR: AuthorisedResource[] = [{ arn: '*', context: {} }];
const str = (value: unknown) => (value === undefined || value === null ? '' : String(value));

function rdsArn(kind: string, id: string, region: string, account: string): string {
  return id.startsWith('arn:') ? id : `arn:aws:rds:${region}:${account}:${kind}:${id}`;
}
const rdsExisting = (kind: string, id: string, region: string, account: string): AuthorisedResource => {
  const tags = tagsOf(`rds:${kind}:${id}`);
  return {
    arn: rdsArn(kind, id, region, account),
    context: {
      ...resourceTags(tags),
      ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`rds:${kind}-tag/${k}`, v])),
    },
  };
};

/** The tag-on-create authorisation EC2 requires when a create request carries tags. */
function ec2TagOnCreate(
  action: string,
  resources: string[],
  tags: Record<string, string>,
  region: string,
): Authorisation[] {
  if (Object.keys(tags).length === 0) return [];
  return [
    {
      action: 'ec2:CreateTags',
      resources: resources.map((arn) => ({
        arn,
        context: { ...requestTagContext(tags), 'ec2:CreateAction': action, 'ec2:Region': region },
      })),
    },
  ];
}

/**
 * Every authorisation a call needs.
 *
 * @example
 * authorisationsOf({ client: 'EC2Client', command: 'DeleteSnapshot', input: { SnapshotId: 'snap-1' }, region, account })
 * // [{ action: 'ec2:DeleteSnapshot', resources: [{ arn: 'arn:aws:ec2:eu-west-1::snapshot/snap-1', context: {…} }] }]
 * @throws Error for a command this mapping does not know: add it here, from the reference
 */
export function authorisationsOf(call: CallInput): Authorisation[] {
  const { input, region, account } = call;
  const prefix = SERVICE_PREFIX[call.client];
  if (!prefix) throw new Error(`no IAM service prefix for ${call.client}: add it to SERVICE_PREFIX`);
  const action = ACTION_NAMES[`${prefix}:${call.command}`] ?? `${prefix}:${call.command}`;
  const one = (resources: AuthorisedResource[]): Authorisation[] => [{ action, resources }];

  switch (`${prefix}:${call.command}`) {
    // EC2: Describe calls have no resource-level permissions.
    case 'ec2:DescribeInstances':
    case 'ec2:DescribeInstanceStatus':
    case 'ec2:DescribeSnapshots':
    case 'ec2:DescribeImages':
    case 'ec2:DescribeLaunchTemplates':
    case 'ec2:DescribeAddresses':
    case 'ec2:DescribeVolumes':
    case 'ec2:DescribeLaunchTemplateVersions':
    case 'ec2:DescribeSubnets':
    case 'ssm:DescribeInstanceInformation':
    case 'ssm:ListCommands':
    case 'ssm:GetCommandInvocation':
    case 'backup:DescribeBackupJob':
    case 'elasticloadbalancing:DescribeTargetHealth':
    case 'states:SendTaskSuccess':
    case 'states:SendTaskFailure':
      return one(STAR);
    case 'ec2:CreateSnapshots': {
      const instance = str((input.InstanceSpecification as { InstanceId?: string })?.InstanceId);
      const tags = specTags(input, 'snapshot');
      const volumes = volumesOf(instance);
      const snapshot = `arn:aws:ec2:${region}::snapshot/${NEW.snapshot}`;
      return [
        ...one([
          ec2Existing(instance, region, account),
          ...(volumes.length > 0 ? volumes : ['vol-00000000000000000']).map((v) =>
            ec2Existing(v, region, account),
          ),
          { arn: snapshot, context: { ...requestTagContext(tags), 'ec2:Region': region } },
        ]),
        ...ec2TagOnCreate('CreateSnapshots', [snapshot], tags, region),
      ];
    }
    case 'ec2:CreateSnapshot': {
      const tags = specTags(input, 'snapshot');
      const snapshot = `arn:aws:ec2:${region}::snapshot/${NEW.snapshot}`;
      return [
        ...one([
          ec2Existing(str(input.VolumeId), region, account),
          { arn: snapshot, context: { ...requestTagContext(tags), 'ec2:Region': region } },
        ]),
        ...ec2TagOnCreate('CreateSnapshot', [snapshot], tags, region),
      ];
    }
    case 'ec2:DeleteSnapshot':
      return one([ec2Existing(str(input.SnapshotId), region, account)]);
    case 'ec2:CreateTags': {
      const tags = tagMap(input.Tags as TagList);
      return one(
        ((input.Resources ?? []) as string[]).map((id) => {
          const existing = ec2Existing(id, region, account);
          return { arn: existing.arn, context: { ...existing.context, ...requestTagContext(tags) } };
        }),
      );
    }
    case 'ec2:DeleteTags': {
      // aws:TagKeys: the keys the request removes (the Service Authorization Reference lists it for DeleteTags).
      const keys = ((input.Tags ?? []) as { Key?: string }[]).map((t) => str(t.Key));
      return one(
        ((input.Resources ?? []) as string[]).map((id) => {
          const existing = ec2Existing(id, region, account);
          return { arn: existing.arn, context: { ...existing.context, 'aws:TagKeys': keys } };
        }),
      );
    }
    case 'ec2:RebootInstances':
    case 'ec2:StopInstances':
    case 'ec2:StartInstances':
    case 'ec2:TerminateInstances':
      return one(((input.InstanceIds ?? []) as string[]).map((id) => ec2Existing(id, region, account)));
    case 'ec2:AttachVolume':
    case 'ec2:DetachVolume':
      return one([
        ec2Existing(str(input.InstanceId), region, account),
        ec2Existing(str(input.VolumeId), region, account),
      ]);
    case 'ec2:AssociateAddress':
      return one([
        ec2Existing(str(input.AllocationId), region, account),
        ec2Existing(str(input.InstanceId), region, account),
      ]);
    case 'ec2:CreateVolume': {
      const tags = specTags(input, 'volume');
      const volume = `arn:aws:ec2:${region}:${account}:volume/${NEW.volume}`;
      return [
        ...one([
          ...(input.SnapshotId ? [ec2Existing(str(input.SnapshotId), region, account)] : []),
          { arn: volume, context: { ...requestTagContext(tags), 'ec2:Region': region } },
        ]),
        ...ec2TagOnCreate('CreateVolume', [volume], tags, region),
        ...(input.KmsKeyId ? kmsOnBehalf('ec2', str(input.KmsKeyId), region, account) : []),
      ];
    }
    case 'ec2:RunInstances': {
      const instanceTags = specTags(input, 'instance');
      const volumeTags = specTags(input, 'volume');
      const template = input.LaunchTemplate as { LaunchTemplateId?: string } | undefined;
      const templateArn = template?.LaunchTemplateId
        ? `arn:aws:ec2:${region}:${account}:launch-template/${template.LaunchTemplateId}`
        : undefined;
      const fromTemplate: Record<string, string> = templateArn ? { 'ec2:LaunchTemplate': templateArn } : {};
      const image = input.ImageId ? ec2Existing(str(input.ImageId), region, account) : undefined;
      const instance = `arn:aws:ec2:${region}:${account}:instance/${NEW.instance}`;
      const volume = `arn:aws:ec2:${region}:${account}:volume/${NEW.volume}`;
      return [
        ...one([
          ...(image ? [{ arn: image.arn, context: { ...image.context, ...fromTemplate } }] : []),
          ...(templateArn ? [{ arn: templateArn, context: { ...fromTemplate } }] : []),
          { arn: instance, context: { ...requestTagContext(instanceTags), ...fromTemplate } },
          { arn: volume, context: { ...requestTagContext(volumeTags), ...fromTemplate } },
          ...(input.SubnetId
            ? [
                {
                  arn: `arn:aws:ec2:${region}:${account}:subnet/${str(input.SubnetId)}`,
                  context: fromTemplate,
                },
              ]
            : []),
          ...((input.SecurityGroupIds ?? []) as string[]).map((sg) => ({
            arn: `arn:aws:ec2:${region}:${account}:security-group/${sg}`,
            context: fromTemplate,
          })),
          {
            arn: `arn:aws:ec2:${region}:${account}:network-interface/${NEW.networkInterface}`,
            context: fromTemplate,
          },
          ...(input.KeyName
            ? [
                {
                  arn: `arn:aws:ec2:${region}:${account}:key-pair/${str(input.KeyName)}`,
                  context: fromTemplate,
                },
              ]
            : []),
        ]),
        ...ec2TagOnCreate('RunInstances', [instance], instanceTags, region),
        ...ec2TagOnCreate('RunInstances', [volume], volumeTags, region),
      ];
    }

    // SSM: SendCommand is authorised on the document and on each instance (with its tags).
    case 'ssm:SendCommand': {
      const document = str(input.DocumentName);
      // The reference's document ARN has an account field; an AWS-owned document is also written
      // without one: the policy must name both (its account field `*`), this checks the first.
      const documentArn = document.startsWith('arn:')
        ? document
        : `arn:aws:ssm:${region}:${account}:document/${document}`;
      return one([
        { arn: documentArn, context: {} },
        ...((input.InstanceIds ?? []) as string[]).map((id) => {
          const tags = tagsOf(id);
          return {
            arn: ec2Arn(id, region, account),
            context: {
              ...resourceTags(tags),
              ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`ssm:resourceTag/${k}`, v])),
            },
          };
        }),
      ]);
    }
    case 'ssm:GetParameter': {
      const name = str(input.Name);
      return one([
        {
          arn: `arn:aws:ssm:${region}:${account}:parameter${name.startsWith('/') ? '' : '/'}${name}`,
          context: {},
        },
      ]);
    }

    // RDS: an identifier in the request names the resource; none is '*'.
    case 'rds:CreateDBSnapshot':
    case 'rds:CreateDBClusterSnapshot': {
      const cluster = call.command === 'CreateDBClusterSnapshot';
      const tags = tagMap(input.Tags as TagList);
      const snapshot = cluster
        ? rdsArn('cluster-snapshot', str(input.DBClusterSnapshotIdentifier), region, account)
        : rdsArn('snapshot', str(input.DBSnapshotIdentifier), region, account);
      const source = cluster
        ? rdsExisting('cluster', str(input.DBClusterIdentifier), region, account)
        : rdsExisting('db', str(input.DBInstanceIdentifier), region, account);
      return [
        ...one([source, { arn: snapshot, context: requestTagContext(tags) }]),
        ...(Object.keys(tags).length > 0
          ? [
              {
                action: 'rds:AddTagsToResource',
                resources: [{ arn: snapshot, context: requestTagContext(tags) }],
              },
            ]
          : []),
      ];
    }
    case 'rds:DescribeDBSnapshots':
      return one(
        input.DBSnapshotIdentifier
          ? [rdsExisting('snapshot', str(input.DBSnapshotIdentifier), region, account)]
          : input.DBInstanceIdentifier
            ? [rdsExisting('db', str(input.DBInstanceIdentifier), region, account)]
            : STAR,
      );
    case 'rds:DescribeDBClusterSnapshots':
      return one(
        input.DBClusterSnapshotIdentifier
          ? [rdsExisting('cluster-snapshot', str(input.DBClusterSnapshotIdentifier), region, account)]
          : input.DBClusterIdentifier
            ? [rdsExisting('cluster', str(input.DBClusterIdentifier), region, account)]
            : STAR,
      );
    case 'rds:DescribeDBInstances':
      return one(
        input.DBInstanceIdentifier
          ? [rdsExisting('db', str(input.DBInstanceIdentifier), region, account)]
          : STAR,
      );
    case 'rds:DeleteDBSnapshot':
      return one([rdsExisting('snapshot', str(input.DBSnapshotIdentifier), region, account)]);
    case 'rds:DeleteDBClusterSnapshot':
      return one([rdsExisting('cluster-snapshot', str(input.DBClusterSnapshotIdentifier), region, account)]);
    case 'rds:DeleteDBInstance':
    case 'rds:ModifyDBInstance':
      return one([rdsExisting('db', str(input.DBInstanceIdentifier), region, account)]);
    case 'rds:ListTagsForResource':
      return one([{ arn: str(input.ResourceName), context: {} }]);
    case 'rds:RestoreDBInstanceFromDBSnapshot': {
      const tags = tagMap(input.Tags as TagList);
      const db = rdsArn('db', str(input.DBInstanceIdentifier), region, account);
      const named = (kind: string, value: unknown, fallback: string) =>
        rdsArn(kind, value ? str(value) : fallback, region, account);
      return [
        ...one([
          { arn: db, context: requestTagContext(tags) },
          rdsExisting('snapshot', str(input.DBSnapshotIdentifier), region, account),
          { arn: named('subgrp', input.DBSubnetGroupName, 'default'), context: {} },
          { arn: named('og', input.OptionGroupName, 'default'), context: {} },
          { arn: named('pg', input.DBParameterGroupName, 'default'), context: {} },
        ]),
        ...(Object.keys(tags).length > 0
          ? [{ action: 'rds:AddTagsToResource', resources: [{ arn: db, context: requestTagContext(tags) }] }]
          : []),
        ...rdsRestoreKms('snapshot', str(input.DBSnapshotIdentifier), undefined, region, account),
      ];
    }
    case 'rds:RestoreDBClusterFromSnapshot': {
      const tags = tagMap(input.Tags as TagList);
      const cluster = rdsArn('cluster', str(input.DBClusterIdentifier), region, account);
      const snapshot = str(input.SnapshotIdentifier);
      const named = (kind: string, value: unknown, fallback: string) =>
        rdsArn(kind, value ? str(value) : fallback, region, account);
      return [
        ...one([
          { arn: cluster, context: requestTagContext(tags) },
          rdsExisting('cluster-snapshot', snapshot, region, account),
          { arn: named('subgrp', input.DBSubnetGroupName, 'default'), context: {} },
          { arn: named('og', input.OptionGroupName, 'default'), context: {} },
          { arn: named('cluster-pg', input.DBClusterParameterGroupName, 'default'), context: {} },
        ]),
        ...(Object.keys(tags).length > 0
          ? [
              {
                action: 'rds:AddTagsToResource',
                resources: [{ arn: cluster, context: requestTagContext(tags) }],
              },
            ]
          : []),
        ...rdsRestoreKms('cluster-snapshot', snapshot, input.KmsKeyId, region, account),
      ];
    }

    // S3: objects are `bucket/key`, ListObjectsV2 is ListBucket on the bucket with s3:prefix.
    case 's3:ListObjectsV2':
      return one([{ arn: `arn:aws:s3:::${str(input.Bucket)}`, context: { 's3:prefix': str(input.Prefix) } }]);
    case 's3:GetObject':
    case 's3:HeadObject':
    case 's3:GetObjectTagging':
    case 's3:DeleteObject':
    case 's3:PutObject': {
      const key = `${str(input.Bucket)}/${str(input.Key)}`;
      const tags = tagsOf(`s3:${key}`);
      return one([
        {
          arn: `arn:aws:s3:::${key}`,
          context: Object.fromEntries(Object.entries(tags).map(([k, v]) => [`s3:ExistingObjectTag/${k}`, v])),
        },
      ]);
    }

    // AWS Backup: the vault, or the recovery point by its ARN (its resource's ARN for EC2 and EBS).
    case 'backup:StartBackupJob':
      return [
        ...one([
          {
            arn: `arn:aws:backup:${region}:${account}:backup-vault:${str(input.BackupVaultName)}`,
            context: {},
          },
        ]),
        {
          action: 'iam:PassRole',
          resources: [
            { arn: str(input.IamRoleArn), context: { 'iam:PassedToService': 'backup.amazonaws.com' } },
          ],
        },
      ];
    case 'backup:ListRecoveryPointsByBackupVault':
      return one([
        {
          arn: `arn:aws:backup:${region}:${account}:backup-vault:${str(input.BackupVaultName)}`,
          context: {},
        },
      ]);
    case 'backup:ListTags':
      return one([{ arn: str(input.ResourceArn), context: resourceTags(tagsOf(str(input.ResourceArn))) }]);
    case 'backup:DeleteRecoveryPoint':
    case 'backup:DescribeRecoveryPoint':
      return one([
        { arn: str(input.RecoveryPointArn), context: resourceTags(tagsOf(str(input.RecoveryPointArn))) },
      ]);

    case 'sns:Publish':
      return one([{ arn: str(input.TopicArn), context: {} }]);

    case 'dynamodb:GetItem':
    case 'dynamodb:PutItem':
    case 'dynamodb:DeleteItem':
    case 'dynamodb:UpdateItem':
    case 'dynamodb:Query': {
      const table = str(input.TableName);
      const arn = table.startsWith('arn:') ? table : `arn:aws:dynamodb:${region}:${account}:table/${table}`;
      if (input.IndexName) return one([{ arn: `${arn}/index/${str(input.IndexName)}`, context: {} }]);
      const leading = leadingKey(input);
      return one([{ arn, context: leading === undefined ? {} : { 'dynamodb:LeadingKeys': [leading] } }]);
    }

    case 'elasticloadbalancing:DeregisterTargets':
    case 'elasticloadbalancing:RegisterTargets':
      return one([{ arn: str(input.TargetGroupArn), context: {} }]);

    case 'states:StartExecution':
    case 'states:ListExecutions':
      return one([{ arn: str(input.stateMachineArn), context: {} }]);
    case 'states:DescribeExecution':
    case 'states:GetExecutionHistory':
      return one([{ arn: str(input.executionArn), context: {} }]);

    case 'sqs:SendMessage':
      return one([{ arn: str(input.QueueUrl), context: {} }]);

    default:
      throw new Error(
        `no IAM mapping for ${call.client} ${call.command}: add it to tests/iam/requests.ts from the Service Authorization Reference`,
      );
  }
}
