/**
 * EC2, SSM, RDS and S3 mocked at the command level (aws-sdk-client-mock) with just enough state to
 * answer as AWS would while a runbook acts: instances stop, start and launch; volumes are created,
 * detached and attached; Elastic IPs move; DB instances are restored and renamed. Every call stays
 * recorded for the tests to assert the exact inputs, in order.
 */
import {
  AssociateAddressCommand,
  AttachVolumeCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteTagsCommand,
  DescribeAddressesCommand,
  DescribeImagesCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2Client,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';

/** A mocked client, as the tests read its calls. */
export interface Stub {
  commandCalls(command: unknown): { args: [{ input: unknown }] }[];
  calls(): { args: [{ input: unknown; constructor: { name: string } }] }[];
}

export interface FakeInstance {
  id: string;
  state: string;
  tags: Record<string, string>;
  az: string;
  volumes: { device: string; volumeId: string }[];
  /** Status checks stay impaired (a replacement that never becomes healthy). */
  impaired?: boolean;
  /** The subnet it runs in (default subnet-0123456789abcdef0, in eu-west-1a unless `subnets` says). */
  subnet?: string;
}

export interface FakeVolume {
  id: string;
  state: string;
  type: string;
  instanceId?: string;
  device?: string;
  az?: string;
  iops?: number;
  throughput?: number;
  kmsKeyId?: string;
  tags?: Record<string, string>;
}

/** A launch template version as DescribeLaunchTemplateVersions reports its data. */
export interface FakeTemplate {
  id: string;
  imageId?: string;
  /** The subnet of its network interface, if it declares one. */
  subnet?: string;
  availabilityZone?: string;
  devices?: string[];
}

export interface FakeDb {
  status: string;
  endpoint: string;
  /** DescribeDBInstances fields: PubliclyAccessible, DeletionProtection, MonitoringInterval, … */
  fields: Record<string, unknown>;
}

/**
 * What RestoreDBInstanceFromDBSnapshot gives a setting it is not told ("API Reference:
 * RestoreDBInstanceFromDBSnapshot": the instance comes back with the snapshot's or RDS's defaults,
 * the default security group and parameter group; public access follows the VPC's internet gateway;
 * BackupRetentionPeriod is inherited from the snapshot).
 */
const RESTORE_DEFAULTS: Record<string, unknown> = {
  PubliclyAccessible: true,
  DeletionProtection: false,
  IAMDatabaseAuthenticationEnabled: false,
  MonitoringInterval: 0,
  EnabledCloudwatchLogsExports: [],
  OptionGroupMemberships: [{ OptionGroupName: 'default:postgres-14', Status: 'in-sync' }],
  PerformanceInsightsEnabled: false,
  CopyTagsToSnapshot: false,
  AutoMinorVersionUpgrade: true,
  StorageType: 'gp2',
  BackupRetentionPeriod: 1,
  DBParameterGroups: [{ DBParameterGroupName: 'default.postgres14' }],
  VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0default000000000' }],
};

/** The DescribeDBInstances field each restore or modify parameter sets. */
function dbFieldsFrom(input: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const direct = [
    'PubliclyAccessible',
    'DeletionProtection',
    'BackupRetentionPeriod',
    'PreferredBackupWindow',
    'PreferredMaintenanceWindow',
    'MonitoringInterval',
    'MonitoringRoleArn',
    'MaxAllocatedStorage',
    'StorageType',
    'Iops',
    'StorageThroughput',
    'CopyTagsToSnapshot',
    'AutoMinorVersionUpgrade',
    'CACertificateIdentifier',
    'PerformanceInsightsKMSKeyId',
    'PerformanceInsightsRetentionPeriod',
    'DBInstanceClass',
    'MultiAZ',
  ];
  for (const key of direct) if (input[key] !== undefined) fields[key] = input[key];
  if (input.EnableIAMDatabaseAuthentication !== undefined)
    fields.IAMDatabaseAuthenticationEnabled = input.EnableIAMDatabaseAuthentication;
  if (input.EnablePerformanceInsights !== undefined)
    fields.PerformanceInsightsEnabled = input.EnablePerformanceInsights;
  if (input.EnableCloudwatchLogsExports !== undefined)
    fields.EnabledCloudwatchLogsExports = input.EnableCloudwatchLogsExports;
  if (input.OptionGroupName !== undefined)
    fields.OptionGroupMemberships = [{ OptionGroupName: input.OptionGroupName, Status: 'in-sync' }];
  if (input.DBParameterGroupName !== undefined)
    fields.DBParameterGroups = [{ DBParameterGroupName: input.DBParameterGroupName }];
  if (input.DBSubnetGroupName !== undefined)
    fields.DBSubnetGroup = { DBSubnetGroupName: input.DBSubnetGroupName };
  if (input.VpcSecurityGroupIds !== undefined)
    fields.VpcSecurityGroups = (input.VpcSecurityGroupIds as string[]).map((id) => ({
      VpcSecurityGroupId: id,
    }));
  if (input.Port !== undefined) fields.DbInstancePort = input.Port;
  return fields;
}

export interface FakeAws {
  ec2: Stub;
  ssm: Stub;
  rds: Stub;
  s3: Stub;
  elb: Stub;
  /** Target group membership: group ARN → instance id → state (`initial`, `healthy`, `draining`, `unused`). */
  targetGroups: Map<string, Map<string, string>>;
  instances: Map<string, FakeInstance>;
  volumes: Map<string, FakeVolume>;
  addresses: Map<string, { publicIp: string; instanceId?: string }>;
  /** DB instances: status, endpoint and the DescribeDBInstances fields of their settings. */
  dbs: Map<string, FakeDb>;
  /** SSM Run Command commands sent (each succeeds on every instance at once). */
  commands: { CommandId: string; Comment: string; InstanceIds: string[] }[];
  /** Names of the EC2 and RDS commands sent, in order. */
  log: string[];
  /** Next status answers per instance, before the instance's real state is reported. */
  statusQueue: Map<string, string[]>;
  restore(): void;
}

const NOT_FOUND = (name: string, message: string) => Object.assign(new Error(message), { name });

/**
 * Installs the fakes with the given instances (each with its volumes) and the account's resources.
 *
 * @example
 * const aws = fakeAws({ instances: [{ id: 'i-0aaa', state: 'running', tags: { App: 'zmanim' }, az: 'eu-west-1a', volumes: [] }] });
 */
export function fakeAws(setup: {
  instances: FakeInstance[];
  snapshots?: { id: string; volumeId: string; target: string }[];
  images?: { id: string; target: string }[];
  launchTemplates?: (string | FakeTemplate)[];
  /** Subnet → availability zone (DescribeSubnets); subnet-0123456789abcdef0 is in eu-west-1a. */
  subnets?: Record<string, string>;
  /** Block-device mappings of AMIs, by AMI id. */
  imageDevices?: Record<string, string[]>;
  /** Volume settings by id (type, IOPS, throughput, KMS key, availability zone). */
  volumeSettings?: Record<string, Partial<FakeVolume>>;
  /** Target group ARN → instance ids registered and healthy in it. */
  targetGroups?: Record<string, string[]>;
  /**
   * How many reads of a just-created instance or volume answer `*.NotFound` (EC2 eventual
   * consistency, "Eventual consistency in the Amazon EC2 API": a resource just created may not be
   * visible yet to the next calls, which then answer that it does not exist).
   */
  notFoundReads?: number;
  addresses?: Record<string, string>;
  dbs?: Record<string, string>;
  /** DescribeDBInstances fields of the DB instances, by identifier (their settings). */
  dbSettings?: Record<string, Record<string, unknown>>;
  dbSnapshots?: { id: string; dbInstance: string; target?: string }[];
  dumps?: Record<string, string[]>;
}): FakeAws {
  const ec2 = mockClient(EC2Client);
  const ssm = mockClient(SSMClient);
  const rds = mockClient(RDSClient);
  const s3 = mockClient(S3Client);
  const elb = mockClient(ElasticLoadBalancingV2Client);
  const log: string[] = [];
  const subnets: Record<string, string> = {
    'subnet-0123456789abcdef0': 'eu-west-1a',
    ...(setup.subnets ?? {}),
  };
  const templates = (setup.launchTemplates ?? []).map((t) => (typeof t === 'string' ? { id: t } : t));
  /** Reads left that answer NotFound, per resource just created. */
  const invisible = new Map<string, number>();
  const hidden = (id: string) => {
    const left = invisible.get(id) ?? 0;
    if (left <= 0) return false;
    invisible.set(id, left - 1);
    return true;
  };
  const tokens = new Map<string, string>();
  const targetGroups = new Map<string, Map<string, string>>(
    Object.entries(setup.targetGroups ?? {}).map(([arn, ids]) => [
      arn,
      new Map(ids.map((id) => [id, 'healthy'])),
    ]),
  );
  const instances = new Map(setup.instances.map((i) => [i.id, { ...i }]));
  const volumes = new Map<string, FakeVolume>();
  for (const i of setup.instances) {
    for (const v of i.volumes)
      volumes.set(v.volumeId, {
        id: v.volumeId,
        state: 'in-use',
        type: 'gp3',
        instanceId: i.id,
        device: v.device,
        az: i.az,
        ...(setup.volumeSettings?.[v.volumeId] ?? {}),
      });
  }
  const addresses = new Map<string, { publicIp: string; instanceId?: string }>(
    Object.entries(setup.addresses ?? {}).map(([id, ip]) => [id, { publicIp: ip }]),
  );
  const dbs = new Map<string, FakeDb>(
    Object.entries(setup.dbs ?? {}).map(([id, endpoint]) => [
      id,
      {
        status: 'available',
        endpoint,
        fields: {
          DBInstanceClass: 'db.t3.small',
          DBSubnetGroup: { DBSubnetGroupName: 'app-db' },
          VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0db0000000000000a' }],
          DBParameterGroups: [{ DBParameterGroupName: 'default.postgres14' }],
          MultiAZ: false,
          ...(setup.dbSettings?.[id] ?? {}),
        },
      },
    ]),
  );
  const statusQueue = new Map<string, string[]>();
  let launched = 0;
  let created = 0;
  const note = (name: string) => log.push(name);
  const describe = (i: FakeInstance) => ({
    InstanceId: i.id,
    State: { Name: i.state },
    InstanceType: 't3.small',
    ImageId: 'ami-0old0000000000000',
    SubnetId: i.subnet ?? 'subnet-0123456789abcdef0',
    Placement: { AvailabilityZone: i.az },
    SecurityGroups: [{ GroupId: 'sg-0123456789abcdef0' }],
    IamInstanceProfile: { Arn: 'arn:aws:iam::123456789012:instance-profile/app' },
    KeyName: 'ops',
    Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })),
    BlockDeviceMappings: [...volumes.values()]
      .filter((v) => v.instanceId === i.id)
      .map((v) => ({ DeviceName: v.device, Ebs: { VolumeId: v.id } })),
  });

  ec2.on(DescribeInstancesCommand).callsFake((input: { Filters?: { Name: string; Values: string[] }[] }) => {
    note('DescribeInstances');
    const filters = input.Filters ?? [];
    const found = [...instances.values()].filter((i) =>
      filters.every((f) => {
        if (f.Name === 'instance-id') return f.Values.includes(i.id);
        if (f.Name === 'instance-state-name') return f.Values.includes(i.state);
        if (f.Name.startsWith('tag:')) return f.Values.includes(i.tags[f.Name.slice(4)] ?? '\u0000');
        return true;
      }),
    );
    return { Reservations: found.length ? [{ Instances: found.map(describe) }] : [] };
  });
  ec2.on(DescribeInstanceStatusCommand).callsFake((input: { InstanceIds: string[] }) => {
    note('DescribeInstanceStatus');
    // DescribeInstanceStatus with InstanceIds answers InvalidInstanceID.NotFound for an id it does
    // not see yet ("Eventual consistency in the Amazon EC2 API").
    const unseen = input.InstanceIds.find((id) => hidden(id));
    if (unseen) throw NOT_FOUND('InvalidInstanceID.NotFound', `The instance ID '${unseen}' does not exist`);
    return {
      InstanceStatuses: input.InstanceIds.filter((id) => instances.has(id)).map((id) => {
        const i = instances.get(id) as FakeInstance;
        const queued = statusQueue.get(id)?.shift();
        const status =
          queued ??
          (i.state === 'running' && !i.impaired
            ? 'ok'
            : i.state === 'running'
              ? 'impaired'
              : 'not-applicable');
        return {
          InstanceId: id,
          InstanceState: { Name: i.state },
          InstanceStatus: { Status: status },
          SystemStatus: { Status: status },
        };
      }),
    };
  });
  // Run Command: every command succeeds on its instances; ListCommands lists them with their comment
  // (API Reference: SendCommand, ListCommands, GetCommandInvocation).
  const commands: FakeAws['commands'] = [];
  ssm.on(SendCommandCommand).callsFake((input: { Comment?: string; InstanceIds?: string[] }) => {
    note('SendCommand');
    const CommandId = `0000000${commands.length + 1}-aaaa-bbbb-cccc-000000000000`;
    commands.push({ CommandId, Comment: input.Comment ?? '', InstanceIds: input.InstanceIds ?? [] });
    return { Command: { CommandId, Comment: input.Comment, Status: 'Pending' } };
  });
  ssm.on(ListCommandsCommand).callsFake((input: { CommandId?: string }) => ({
    Commands: commands
      .filter((c) => !input.CommandId || c.CommandId === input.CommandId)
      .map((c) => ({
        ...c,
        DocumentName: 'AWS-RunShellScript',
        Status: 'Success',
        TargetCount: c.InstanceIds.length,
        CompletedCount: c.InstanceIds.length,
      })),
  }));
  ssm.on(GetCommandInvocationCommand).callsFake((input: { CommandId: string; InstanceId: string }) => ({
    CommandId: input.CommandId,
    InstanceId: input.InstanceId,
    Status: 'Success',
    ResponseCode: 0,
    StandardOutputContent: 'done\n',
    StandardErrorContent: '',
  }));
  ssm.on(DescribeInstanceInformationCommand).callsFake((input: { Filters: { Values: string[] }[] }) => ({
    InstanceInformationList: (input.Filters[0]?.Values ?? [])
      .filter((id) => instances.get(id)?.state === 'running')
      .map((id) => ({ InstanceId: id, PingStatus: 'Online' })),
  }));
  const setState = (state: string) => (input: { InstanceIds: string[] }) => {
    for (const id of input.InstanceIds) {
      const i = instances.get(id);
      if (i) i.state = state;
    }
    return {};
  };
  ec2.on(RebootInstancesCommand).callsFake((input) => {
    note('RebootInstances');
    for (const id of input.InstanceIds) statusQueue.set(id, ['initializing', ...(statusQueue.get(id) ?? [])]);
    return {};
  });
  ec2.on(StopInstancesCommand).callsFake((input) => {
    note('StopInstances');
    return setState('stopped')(input);
  });
  ec2.on(StartInstancesCommand).callsFake((input) => {
    note('StartInstances');
    return setState('running')(input);
  });
  ec2
    .on(DescribeSnapshotsCommand)
    .callsFake((input: { SnapshotIds?: string[]; Filters?: { Name: string; Values: string[] }[] }) => {
      note('DescribeSnapshots');
      const all = setup.snapshots ?? [];
      if (input.SnapshotIds) {
        const found = all.filter((s) => input.SnapshotIds?.includes(s.id));
        if (found.length === 0)
          throw NOT_FOUND(
            'InvalidSnapshot.NotFound',
            `The snapshot '${input.SnapshotIds[0]}' does not exist.`,
          );
        return {
          Snapshots: found.map((s) => ({ SnapshotId: s.id, State: 'completed', VolumeId: s.volumeId })),
        };
      }
      const volume = input.Filters?.find((f) => f.Name === 'volume-id')?.Values[0];
      const target = input.Filters?.find((f) => f.Name === 'tag:stepops:target')?.Values[0];
      return {
        Snapshots: all
          .filter((s) => s.volumeId === volume && s.target === target)
          .map((s, n) => ({
            SnapshotId: s.id,
            State: 'completed',
            VolumeId: s.volumeId,
            StartTime: new Date(Date.UTC(2026, 0, 1 + n)),
          })),
      };
    });
  ec2
    .on(DescribeImagesCommand)
    .callsFake((input: { ImageIds?: string[]; Filters?: { Name: string; Values: string[] }[] }) => {
      note('DescribeImages');
      const all = setup.images ?? [];
      if (input.ImageIds) {
        const found = all.filter((s) => input.ImageIds?.includes(s.id));
        if (found.length === 0)
          throw NOT_FOUND('InvalidAMIID.NotFound', `The image id '[${input.ImageIds[0]}]' does not exist`);
        return {
          Images: found.map((s) => ({
            ImageId: s.id,
            BlockDeviceMappings: (setup.imageDevices?.[s.id] ?? ['/dev/xvda']).map((d) => ({
              DeviceName: d,
            })),
          })),
        };
      }
      const target = input.Filters?.find((f) => f.Name === 'tag:stepops:target')?.Values[0];
      return {
        Images: all
          .filter((s) => s.target === target)
          .map((s, n) => ({
            ImageId: s.id,
            CreationDate: `2026-01-0${n + 1}T00:00:00.000Z`,
            BlockDeviceMappings: (setup.imageDevices?.[s.id] ?? ['/dev/xvda']).map((d) => ({
              DeviceName: d,
            })),
          })),
      };
    });
  ec2.on(DescribeLaunchTemplatesCommand).callsFake((input: { LaunchTemplateIds: string[] }) => {
    note('DescribeLaunchTemplates');
    const id = input.LaunchTemplateIds[0] as string;
    if (!templates.some((t) => t.id === id)) {
      throw NOT_FOUND(
        'InvalidLaunchTemplateId.NotFound',
        `The specified launch template, with template ID ${id}, does not exist.`,
      );
    }
    return { LaunchTemplates: [{ LaunchTemplateId: id, LaunchTemplateName: 'app' }] };
  });
  ec2
    .on(DescribeLaunchTemplateVersionsCommand)
    .callsFake((input: { LaunchTemplateId: string; Versions: string[] }) => {
      note('DescribeLaunchTemplateVersions');
      const t = templates.find((x) => x.id === input.LaunchTemplateId);
      if (!t) {
        throw NOT_FOUND(
          'InvalidLaunchTemplateId.NotFound',
          `The specified launch template, with template ID ${input.LaunchTemplateId}, does not exist.`,
        );
      }
      return {
        LaunchTemplateVersions: [
          {
            LaunchTemplateId: t.id,
            VersionNumber: 1,
            LaunchTemplateData: {
              ImageId: t.imageId ?? 'ami-0fedcba9876543210',
              ...(t.subnet ? { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: t.subnet }] } : {}),
              ...(t.availabilityZone ? { Placement: { AvailabilityZone: t.availabilityZone } } : {}),
              BlockDeviceMappings: (t.devices ?? ['/dev/xvda']).map((d) => ({ DeviceName: d })),
            },
          },
        ],
      };
    });
  ec2.on(DescribeSubnetsCommand).callsFake((input: { SubnetIds: string[] }) => {
    note('DescribeSubnets');
    const id = input.SubnetIds[0] as string;
    const az = subnets[id];
    if (!az) throw NOT_FOUND('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
    return { Subnets: [{ SubnetId: id, AvailabilityZone: az }] };
  });
  ec2.on(DescribeAddressesCommand).callsFake((input: { AllocationIds: string[] }) => {
    note('DescribeAddresses');
    const id = input.AllocationIds[0] as string;
    const address = addresses.get(id);
    if (!address) throw NOT_FOUND('InvalidAllocationID.NotFound', `The allocation ID '${id}' does not exist`);
    return {
      Addresses: [
        {
          AllocationId: id,
          PublicIp: address.publicIp,
          ...(address.instanceId ? { InstanceId: address.instanceId } : {}),
        },
      ],
    };
  });
  ec2
    .on(CreateVolumeCommand)
    .callsFake(
      (input: {
        AvailabilityZone: string;
        VolumeType?: string;
        Iops?: number;
        Throughput?: number;
        KmsKeyId?: string;
        TagSpecifications?: { Tags: { Key: string; Value: string }[] }[];
      }) => {
        note('CreateVolume');
        created += 1;
        const id = `vol-0new${String(created).padStart(13, '0')}`;
        volumes.set(id, {
          id,
          state: 'available',
          // CreateVolume: "The volume type. ... Default: gp2"; Iops/Throughput default to the type's baseline.
          type: input.VolumeType ?? 'gp2',
          az: input.AvailabilityZone,
          ...(input.Iops !== undefined ? { iops: input.Iops } : {}),
          ...(input.Throughput !== undefined ? { throughput: input.Throughput } : {}),
          ...(input.KmsKeyId ? { kmsKeyId: input.KmsKeyId } : {}),
          tags: Object.fromEntries((input.TagSpecifications?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value])),
        });
        invisible.set(id, setup.notFoundReads ?? 0);
        return { VolumeId: id };
      },
    );
  ec2
    .on(DescribeVolumesCommand)
    .callsFake((input: { VolumeIds?: string[]; Filters?: { Name: string; Values: string[] }[] }) => {
      note('DescribeVolumes');
      const show = (v: FakeVolume) => ({
        VolumeId: v.id,
        State: v.state,
        VolumeType: v.type,
        AvailabilityZone: v.az ?? 'eu-west-1a',
        ...(v.iops !== undefined ? { Iops: v.iops } : {}),
        ...(v.throughput !== undefined ? { Throughput: v.throughput } : {}),
        ...(v.kmsKeyId ? { Encrypted: true, KmsKeyId: v.kmsKeyId } : { Encrypted: false }),
        Tags: Object.entries(v.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
        Attachments: v.instanceId ? [{ InstanceId: v.instanceId, State: 'attached', Device: v.device }] : [],
      });
      if (input.Filters) {
        return {
          Volumes: [...volumes.values()]
            .filter((v) =>
              (input.Filters ?? []).every(
                (f) => f.Name.startsWith('tag:') && f.Values.includes(v.tags?.[f.Name.slice(4)] ?? '\u0000'),
              ),
            )
            .map(show),
        };
      }
      // DescribeVolumes with VolumeIds answers InvalidVolume.NotFound for an id it does not see (yet).
      const ids = input.VolumeIds ?? [];
      const unseen = ids.find((id) => !volumes.has(id) || hidden(id));
      if (unseen) throw NOT_FOUND('InvalidVolume.NotFound', `The volume '${unseen}' does not exist.`);
      return { Volumes: ids.map((id) => show(volumes.get(id) as FakeVolume)) };
    });
  ec2.on(DetachVolumeCommand).callsFake((input: { VolumeId: string }) => {
    note('DetachVolume');
    const v = volumes.get(input.VolumeId);
    if (v) {
      v.state = 'available';
      delete v.instanceId;
      delete v.device;
    }
    return {};
  });
  ec2.on(AttachVolumeCommand).callsFake((input: { VolumeId: string; InstanceId: string; Device: string }) => {
    note('AttachVolume');
    const v = volumes.get(input.VolumeId);
    if (v) Object.assign(v, { state: 'in-use', instanceId: input.InstanceId, device: input.Device });
    return {};
  });
  ec2
    .on(RunInstancesCommand)
    .callsFake(
      (input: {
        ClientToken?: string;
        SubnetId?: string;
        TagSpecifications: { ResourceType: string; Tags: { Key: string; Value: string }[] }[];
      }) => {
        note('RunInstances');
        // RunInstances with a ClientToken already used answers the instance it launched then
        // ("Ensuring idempotency in Amazon EC2 API requests").
        const known = input.ClientToken ? tokens.get(input.ClientToken) : undefined;
        if (known) return { Instances: [{ InstanceId: known }] };
        launched += 1;
        const id = `i-0new${String(launched).padStart(13, '0')}`;
        if (input.ClientToken) tokens.set(input.ClientToken, id);
        const tags = Object.fromEntries(
          (input.TagSpecifications.find((t) => t.ResourceType === 'instance')?.Tags ?? []).map((t) => [
            t.Key,
            t.Value,
          ]),
        );
        const subnet = input.SubnetId ?? 'subnet-0123456789abcdef0';
        instances.set(id, {
          id,
          state: 'running',
          tags,
          az: subnets[subnet] ?? 'eu-west-1a',
          volumes: [],
          subnet,
        });
        invisible.set(id, setup.notFoundReads ?? 0);
        return { Instances: [{ InstanceId: id }] };
      },
    );
  ec2.on(AssociateAddressCommand).callsFake((input: { AllocationId: string; InstanceId: string }) => {
    note('AssociateAddress');
    const address = addresses.get(input.AllocationId);
    if (address) address.instanceId = input.InstanceId;
    return { AssociationId: 'eipassoc-0123456789abcdef0' };
  });
  const tagged = (id: string): Record<string, string> | undefined => {
    const instance = instances.get(id);
    if (instance) return instance.tags;
    const volume = volumes.get(id);
    if (!volume) return undefined;
    volume.tags ??= {};
    return volume.tags;
  };
  ec2
    .on(CreateTagsCommand)
    .callsFake((input: { Resources: string[]; Tags: { Key: string; Value?: string }[] }) => {
      note('CreateTags');
      for (const id of input.Resources) {
        const tags = tagged(id);
        if (tags) for (const t of input.Tags) tags[t.Key] = t.Value ?? '';
      }
      return {};
    });
  ec2
    .on(DeleteTagsCommand)
    .callsFake((input: { Resources: string[]; Tags: { Key: string; Value?: string }[] }) => {
      note('DeleteTags');
      for (const id of input.Resources) {
        const tags = tagged(id);
        // DeleteTags: a tag given with no value is deleted whatever its value.
        if (tags)
          for (const t of input.Tags)
            if (t.Value === undefined || tags[t.Key] === t.Value) delete tags[t.Key];
      }
      return {};
    });
  ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds: string[] }) => {
    note('TerminateInstances');
    return setState('terminated')(input);
  });

  // ELBv2: a registered target is `initial` until its health checks pass, then `healthy`; a
  // deregistered one is `draining` for the deregistration delay, then `unused` (Target.NotRegistered)
  // ("Target health status", Elastic Load Balancing User Guide for Application Load Balancers).
  const group = (arn: string) => {
    let g = targetGroups.get(arn);
    if (!g) {
      g = new Map();
      targetGroups.set(arn, g);
    }
    return g;
  };
  elb.on(RegisterTargetsCommand).callsFake((input: { TargetGroupArn: string; Targets: { Id: string }[] }) => {
    note('RegisterTargets');
    for (const t of input.Targets) group(input.TargetGroupArn).set(t.Id, 'initial');
    return {};
  });
  elb
    .on(DeregisterTargetsCommand)
    .callsFake((input: { TargetGroupArn: string; Targets: { Id: string }[] }) => {
      note('DeregisterTargets');
      const g = group(input.TargetGroupArn);
      for (const t of input.Targets) if (g.has(t.Id)) g.set(t.Id, 'draining');
      return {};
    });
  elb
    .on(DescribeTargetHealthCommand)
    .callsFake((input: { TargetGroupArn: string; Targets?: { Id: string }[] }) => {
      note('DescribeTargetHealth');
      const g = group(input.TargetGroupArn);
      const ids = input.Targets?.map((t) => t.Id) ?? [...g.keys()];
      return {
        TargetHealthDescriptions: ids.map((id) => {
          const state = g.get(id) ?? 'unused';
          // One read later, the checks have passed (a running, unimpaired instance) or draining ended.
          const i = instances.get(id);
          if (state === 'initial' && i?.state === 'running' && !i.impaired) g.set(id, 'healthy');
          if (state === 'initial' && i && i.state !== 'running') g.set(id, 'unhealthy');
          if (state === 'draining') g.delete(id);
          return {
            Target: { Id: id },
            TargetHealth: {
              State: state,
              ...(state === 'unused' ? { Reason: 'Target.NotRegistered' } : {}),
              ...(state === 'draining' ? { Reason: 'Target.DeregistrationInProgress' } : {}),
              ...(state === 'initial' ? { Reason: 'Elb.InitialHealthChecking' } : {}),
            },
          };
        }),
      };
    });

  rds.on(DescribeDBInstancesCommand).callsFake((input: { DBInstanceIdentifier: string }) => {
    note('DescribeDBInstances');
    const db = dbs.get(input.DBInstanceIdentifier);
    if (!db)
      throw NOT_FOUND('DBInstanceNotFoundFault', `DBInstance ${input.DBInstanceIdentifier} not found.`);
    return {
      DBInstances: [
        {
          ...db.fields,
          DBInstanceIdentifier: input.DBInstanceIdentifier,
          DBInstanceStatus: db.status,
          Endpoint: { Address: db.endpoint, Port: 5432 },
        },
      ],
    };
  });
  rds
    .on(DescribeDBSnapshotsCommand)
    .callsFake((input: { DBSnapshotIdentifier?: string; DBInstanceIdentifier?: string }) => {
      note('DescribeDBSnapshots');
      const all = setup.dbSnapshots ?? [];
      const found = all.filter((s) =>
        input.DBSnapshotIdentifier
          ? s.id === input.DBSnapshotIdentifier
          : s.dbInstance === input.DBInstanceIdentifier,
      );
      if (input.DBSnapshotIdentifier && found.length === 0) {
        throw NOT_FOUND('DBSnapshotNotFoundFault', `DBSnapshot ${input.DBSnapshotIdentifier} not found.`);
      }
      return {
        DBSnapshots: found.map((s, n) => ({
          DBSnapshotIdentifier: s.id,
          Status: 'available',
          SnapshotCreateTime: new Date(Date.UTC(2026, 0, 1 + n)),
          TagList: s.target ? [{ Key: 'stepops:target', Value: s.target }] : [],
        })),
      };
    });
  rds
    .on(RestoreDBInstanceFromDBSnapshotCommand)
    .callsFake((input: { DBInstanceIdentifier: string } & Record<string, unknown>) => {
      note('RestoreDBInstanceFromDBSnapshot');
      if (dbs.has(input.DBInstanceIdentifier)) {
        throw NOT_FOUND('DBInstanceAlreadyExistsFault', `DB instance already exists`);
      }
      dbs.set(input.DBInstanceIdentifier, {
        status: 'available',
        endpoint: `${input.DBInstanceIdentifier}.rds.example`,
        fields: { ...RESTORE_DEFAULTS, ...dbFieldsFrom(input) },
      });
      return {};
    });
  rds
    .on(ModifyDBInstanceCommand)
    .callsFake(
      (
        input: { DBInstanceIdentifier: string; NewDBInstanceIdentifier?: string } & Record<string, unknown>,
      ) => {
        note('ModifyDBInstance');
        const db = dbs.get(input.DBInstanceIdentifier);
        if (!db)
          throw NOT_FOUND('DBInstanceNotFoundFault', `DBInstance ${input.DBInstanceIdentifier} not found.`);
        Object.assign(db.fields, dbFieldsFrom(input));
        if (input.NewDBInstanceIdentifier) {
          dbs.delete(input.DBInstanceIdentifier);
          dbs.set(input.NewDBInstanceIdentifier, db);
        }
        return {};
      },
    );
  s3.on(ListObjectsV2Command).callsFake((input: { Bucket: string; Prefix: string }) => {
    const keys = setup.dumps?.[`${input.Bucket}/${input.Prefix}`] ?? [];
    return {
      Contents: keys.map((k) => ({
        Key: `${input.Prefix}${k}`,
        LastModified: new Date(Date.UTC(2026, 0, 1)),
      })),
      IsTruncated: false,
    };
  });

  return {
    ec2: ec2 as unknown as Stub,
    ssm: ssm as unknown as Stub,
    rds: rds as unknown as Stub,
    s3: s3 as unknown as Stub,
    elb: elb as unknown as Stub,
    targetGroups,
    instances,
    volumes,
    addresses,
    commands,
    dbs,
    log,
    statusQueue,
    restore() {
      ec2.restore();
      ssm.restore();
      rds.restore();
      s3.restore();
      elb.restore();
    },
  };
}
