/**
 * EC2 actions of the recovery runbooks: reboot, stop/start, restore a volume from a snapshot,
 * launch a replacement instance, move a data volume and an Elastic IP.
 *
 * IAM: `ec2:DescribeInstances`, `ec2:DescribeInstanceStatus`, `ec2:DescribeSnapshots`,
 * `ec2:DescribeImages`, `ec2:DescribeLaunchTemplates`, `ec2:DescribeAddresses`,
 * `ec2:DescribeVolumes`, `ec2:RebootInstances`, `ec2:StopInstances`, `ec2:StartInstances`,
 * `ec2:CreateVolume`, `ec2:AttachVolume`, `ec2:DetachVolume`, `ec2:RunInstances`,
 * `ec2:AssociateAddress`, `ec2:CreateTags`, `ec2:DeleteTags`, `ec2:TerminateInstances`,
 * `ec2:DescribeLaunchTemplateVersions`, `ec2:DescribeSubnets`, `iam:PassRole` (the instance
 * profile's role), `ssm:DescribeInstanceInformation`; with customer-managed KMS keys on volumes,
 * `kms:CreateGrant`, `kms:Decrypt`, `kms:GenerateDataKeyWithoutPlaintext`, `kms:ReEncrypt*` and
 * `kms:DescribeKey` for EC2 (`kms:GrantIsForAWSResource`).
 *
 * EC2 is eventually consistent ("Eventual consistency in the Amazon EC2 API"): an instance or
 * volume just created may answer `*.NotFound` for a while. The reads here report it as not there
 * yet (`pending`, undefined) so that the steps wait for it instead of failing.
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
  type DescribeInstanceStatusCommandOutput,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  type EC2Client,
  type Filter,
  type Instance,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type VolumeType,
} from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type {
  HostSelector,
  InstanceInfo,
  InstanceOperations,
  InstanceReadiness,
  LaunchSpec,
  LaunchTemplateData,
  VolumeInfo,
  VolumeSpec,
} from '../ports.ts';
import { ec2Client } from './ec2-client.ts';
import { SNAPSHOT_TAGS } from './snapshot-service.ts';
import { ssmClient } from './ssm-client.ts';

/** DescribeInstanceStatus takes at most 100 instance ids; DescribeInstanceInformation filters 50. */
export const STATUS_ID_CHUNK = 100;
const SSM_ID_CHUNK = 50;

const NOT_FOUND = /NotFound$|\.Malformed$/;
/** Tag a created volume carries so that a retried create finds it instead of making a second one. */
export const CLIENT_TOKEN_TAG = 'stepops:client-token';

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function tagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function tagsOf(list: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).filter((t) => t.Key).map((t) => [t.Key as string, t.Value ?? '']));
}

function isNotFound(error: unknown): boolean {
  return NOT_FOUND.test((error as { name?: string }).name ?? '');
}

function toInfo(instance: Instance): InstanceInfo {
  return {
    id: instance.InstanceId ?? '',
    state: instance.State?.Name ?? 'unknown',
    ...(instance.InstanceType ? { instanceType: instance.InstanceType } : {}),
    ...(instance.ImageId ? { imageId: instance.ImageId } : {}),
    ...(instance.SubnetId ? { subnetId: instance.SubnetId } : {}),
    ...(instance.Placement?.AvailabilityZone
      ? { availabilityZone: instance.Placement.AvailabilityZone }
      : {}),
    securityGroupIds: (instance.SecurityGroups ?? []).map((g) => g.GroupId ?? '').filter(Boolean),
    ...(instance.IamInstanceProfile?.Arn ? { iamInstanceProfileArn: instance.IamInstanceProfile.Arn } : {}),
    ...(instance.KeyName ? { keyName: instance.KeyName } : {}),
    tags: tagsOf(instance.Tags),
    volumes: (instance.BlockDeviceMappings ?? [])
      .filter((m) => m.DeviceName && m.Ebs?.VolumeId)
      .map((m) => ({ device: m.DeviceName as string, volumeId: m.Ebs?.VolumeId as string })),
  };
}

export interface Ec2InstanceOperationsOptions {
  ec2?: (region: string) => EC2Client;
  ssm?: (region: string) => SSMClient;
}

/**
 * The EC2 (and SSM agent) calls of recovery, in the hosts' region.
 *
 * @example
 * const ops = new Ec2InstanceOperations();
 * await ops.reboot('eu-west-1', ['i-0abc']);
 * const ready = await ops.readiness('eu-west-1', ['i-0abc']); // [{ id, state: 'running', statusOk, agentOnline }]
 */
export class Ec2InstanceOperations implements InstanceOperations {
  readonly #ec2: (region: string) => EC2Client;
  readonly #ssm: (region: string) => SSMClient;

  constructor(options: Ec2InstanceOperationsOptions = {}) {
    this.#ec2 = options.ec2 ?? ec2Client;
    this.#ssm = options.ssm ?? ssmClient;
  }

  async #instances(region: string, filters: Filter[]): Promise<InstanceInfo[]> {
    const found: InstanceInfo[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#ec2(region).send(
        new DescribeInstancesCommand({
          Filters: filters,
          MaxResults: 1000,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? [])
          if (instance.InstanceId) found.push(toInfo(instance));
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return found;
  }

  async find(selector: HostSelector): Promise<InstanceInfo[]> {
    if (selector.type !== 'ec2') throw new Error('EC2 operations act on ec2 hosts only');
    const filters: Filter[] =
      'instanceIds' in selector
        ? [{ Name: 'instance-id', Values: selector.instanceIds }]
        : Object.entries(selector.tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));
    filters.push({
      Name: 'instance-state-name',
      Values: ['pending', 'running', 'stopping', 'stopped'],
    });
    return this.#instances(selector.region, filters);
  }

  async describe(region: string, id: string): Promise<InstanceInfo | undefined> {
    const [found] = await this.#instances(region, [{ Name: 'instance-id', Values: [id] }]);
    return found;
  }

  async readiness(region: string, ids: string[]): Promise<InstanceReadiness[]> {
    const status = new Map<string, { state: string; statusOk: boolean }>();
    for (const chunk of chunks(ids, STATUS_ID_CHUNK)) {
      let nextToken: string | undefined;
      do {
        let page: DescribeInstanceStatusCommandOutput;
        try {
          page = await this.#ec2(region).send(
            new DescribeInstanceStatusCommand({
              InstanceIds: chunk,
              IncludeAllInstances: true,
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
          );
        } catch (error) {
          // An instance just launched may not be visible yet: reported `pending`, asked again later.
          if (!isNotFound(error)) throw error;
          for (const id of chunk) status.set(id, { state: 'pending', statusOk: false });
          break;
        }
        for (const s of page.InstanceStatuses ?? []) {
          if (!s.InstanceId) continue;
          status.set(s.InstanceId, {
            state: s.InstanceState?.Name ?? 'unknown',
            statusOk: s.InstanceStatus?.Status === 'ok' && s.SystemStatus?.Status === 'ok',
          });
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
    const online = new Set<string>();
    for (const chunk of chunks(ids, SSM_ID_CHUNK)) {
      let nextToken: string | undefined;
      do {
        const page = await this.#ssm(region).send(
          new DescribeInstanceInformationCommand({
            Filters: [{ Key: 'InstanceIds', Values: chunk }],
            MaxResults: 50,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
        for (const info of page.InstanceInformationList ?? []) {
          if (info.InstanceId && info.PingStatus === 'Online') online.add(info.InstanceId);
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
    return ids.map((id) => ({
      id,
      state: status.get(id)?.state ?? 'unknown',
      statusOk: status.get(id)?.statusOk ?? false,
      agentOnline: online.has(id),
    }));
  }

  async reboot(region: string, ids: string[]): Promise<void> {
    await this.#ec2(region).send(new RebootInstancesCommand({ InstanceIds: ids }));
  }

  async stop(region: string, ids: string[]): Promise<void> {
    await this.#ec2(region).send(new StopInstancesCommand({ InstanceIds: ids }));
  }

  async start(region: string, ids: string[]): Promise<void> {
    await this.#ec2(region).send(new StartInstancesCommand({ InstanceIds: ids }));
  }

  async findSnapshot(
    region: string,
    query: { snapshotId: string } | { volumeId: string; target: string },
  ): Promise<{ snapshotId: string; state: string; volumeSize?: number } | undefined> {
    try {
      const output = await this.#ec2(region).send(
        'snapshotId' in query
          ? new DescribeSnapshotsCommand({ SnapshotIds: [query.snapshotId] })
          : new DescribeSnapshotsCommand({
              OwnerIds: ['self'],
              Filters: [
                { Name: 'volume-id', Values: [query.volumeId] },
                { Name: `tag:${SNAPSHOT_TAGS.target}`, Values: [query.target] },
                { Name: 'status', Values: ['completed'] },
              ],
            }),
      );
      const newest = [...(output.Snapshots ?? [])].sort(
        (a, b) => (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0),
      )[0];
      if (!newest?.SnapshotId) return undefined;
      return {
        snapshotId: newest.SnapshotId,
        state: newest.State ?? 'unknown',
        ...(newest.VolumeSize !== undefined ? { volumeSize: newest.VolumeSize } : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async findImage(
    region: string,
    query: { imageId: string } | { target: string },
  ): Promise<{ imageId: string; devices: string[] } | undefined> {
    try {
      const output = await this.#ec2(region).send(
        'imageId' in query
          ? new DescribeImagesCommand({ ImageIds: [query.imageId] })
          : new DescribeImagesCommand({
              Owners: ['self'],
              Filters: [
                { Name: `tag:${SNAPSHOT_TAGS.target}`, Values: [query.target] },
                { Name: 'state', Values: ['available'] },
              ],
            }),
      );
      const newest = [...(output.Images ?? [])].sort((a, b) =>
        (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''),
      )[0];
      if (!newest?.ImageId) return undefined;
      return {
        imageId: newest.ImageId,
        devices: (newest.BlockDeviceMappings ?? []).flatMap((m) => (m.DeviceName ? [m.DeviceName] : [])),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async findLaunchTemplate(region: string, id: string): Promise<{ id: string; name: string } | undefined> {
    try {
      const output = await this.#ec2(region).send(
        new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }),
      );
      const template = output.LaunchTemplates?.[0];
      return template?.LaunchTemplateId
        ? { id: template.LaunchTemplateId, name: template.LaunchTemplateName ?? '' }
        : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async launchTemplateData(
    region: string,
    id: string,
    version: string,
  ): Promise<LaunchTemplateData | undefined> {
    try {
      const output = await this.#ec2(region).send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: [version] }),
      );
      const data = output.LaunchTemplateVersions?.[0]?.LaunchTemplateData;
      if (!data) return undefined;
      const interfaces = data.NetworkInterfaces ?? [];
      return {
        ...(data.ImageId ? { imageId: data.ImageId } : {}),
        subnetIds: interfaces.flatMap((n) => (n.SubnetId ? [n.SubnetId] : [])),
        ...(data.Placement?.AvailabilityZone ? { availabilityZone: data.Placement.AvailabilityZone } : {}),
        devices: (data.BlockDeviceMappings ?? []).flatMap((m) => (m.DeviceName ? [m.DeviceName] : [])),
        networkInterfaces: interfaces.length > 0,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async subnetZone(region: string, subnetId: string): Promise<string | undefined> {
    try {
      const output = await this.#ec2(region).send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }));
      return output.Subnets?.[0]?.AvailabilityZone;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async findAddress(
    region: string,
    allocationId: string,
  ): Promise<{ allocationId: string; publicIp: string; instanceId?: string } | undefined> {
    try {
      const output = await this.#ec2(region).send(
        new DescribeAddressesCommand({ AllocationIds: [allocationId] }),
      );
      const address = output.Addresses?.[0];
      if (!address?.AllocationId) return undefined;
      return {
        allocationId: address.AllocationId,
        publicIp: address.PublicIp ?? '',
        ...(address.InstanceId ? { instanceId: address.InstanceId } : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async createVolume(region: string, spec: VolumeSpec): Promise<string> {
    // CreateVolume: Iops only for io1, io2 and gp3; Throughput only for gp3.
    const type = spec.volumeType;
    const output = await this.#ec2(region).send(
      new CreateVolumeCommand({
        SnapshotId: spec.snapshotId,
        AvailabilityZone: spec.availabilityZone,
        ...(type ? { VolumeType: type as VolumeType } : {}),
        ...(spec.iops !== undefined && type && ['io1', 'io2', 'gp3'].includes(type)
          ? { Iops: spec.iops }
          : {}),
        ...(spec.throughput !== undefined && type === 'gp3' ? { Throughput: spec.throughput } : {}),
        ...(spec.kmsKeyId ? { Encrypted: true, KmsKeyId: spec.kmsKeyId } : {}),
        TagSpecifications: [{ ResourceType: 'volume', Tags: tagList(spec.tags) }],
      }),
    );
    if (!output.VolumeId) throw new Error('CreateVolume returned no volume id');
    return output.VolumeId;
  }

  async #volume(region: string, id: string) {
    try {
      const output = await this.#ec2(region).send(new DescribeVolumesCommand({ VolumeIds: [id] }));
      return output.Volumes?.[0];
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async findCreatedVolume(region: string, clientToken: string): Promise<string | undefined> {
    const output = await this.#ec2(region).send(
      new DescribeVolumesCommand({ Filters: [{ Name: `tag:${CLIENT_TOKEN_TAG}`, Values: [clientToken] }] }),
    );
    return output.Volumes?.find((v) => v.State !== 'deleting' && v.State !== 'deleted')?.VolumeId;
  }

  async volume(region: string, id: string): Promise<VolumeInfo | undefined> {
    const volume = await this.#volume(region, id);
    if (!volume) return undefined;
    const attachment = volume.Attachments?.[0];
    return {
      state: volume.State ?? 'unknown',
      ...(attachment?.InstanceId ? { instanceId: attachment.InstanceId } : {}),
      ...(attachment?.State ? { attachment: attachment.State } : {}),
      ...(volume.AvailabilityZone ? { availabilityZone: volume.AvailabilityZone } : {}),
      ...(volume.VolumeType ? { type: volume.VolumeType } : {}),
      ...(volume.Iops !== undefined ? { iops: volume.Iops } : {}),
      ...(volume.Throughput !== undefined ? { throughput: volume.Throughput } : {}),
      ...(volume.Encrypted !== undefined ? { encrypted: volume.Encrypted } : {}),
      ...(volume.KmsKeyId ? { kmsKeyId: volume.KmsKeyId } : {}),
    };
  }

  async detachVolume(region: string, volumeId: string, instanceId: string): Promise<void> {
    await this.#ec2(region).send(new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId }));
  }

  async attachVolume(region: string, volumeId: string, instanceId: string, device: string): Promise<void> {
    await this.#ec2(region).send(
      new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: device }),
    );
  }

  async launch(region: string, spec: LaunchSpec): Promise<string> {
    const output = await this.#ec2(region).send(
      new RunInstancesCommand({
        MinCount: 1,
        MaxCount: 1,
        ClientToken: spec.clientToken,
        ...(spec.launchTemplate
          ? {
              LaunchTemplate: {
                LaunchTemplateId: spec.launchTemplate.id,
                Version: spec.launchTemplate.version,
              },
            }
          : {}),
        ...(spec.imageId ? { ImageId: spec.imageId } : {}),
        ...(spec.instanceType ? { InstanceType: spec.instanceType as never } : {}),
        ...(spec.subnetId ? { SubnetId: spec.subnetId } : {}),
        ...(spec.securityGroupIds?.length ? { SecurityGroupIds: spec.securityGroupIds } : {}),
        ...(spec.iamInstanceProfileArn ? { IamInstanceProfile: { Arn: spec.iamInstanceProfileArn } } : {}),
        ...(spec.keyName ? { KeyName: spec.keyName } : {}),
        TagSpecifications: [
          { ResourceType: 'instance', Tags: tagList(spec.tags) },
          { ResourceType: 'volume', Tags: tagList(spec.tags) },
        ],
      }),
    );
    const id = output.Instances?.[0]?.InstanceId;
    if (!id) throw new Error('RunInstances returned no instance id');
    return id;
  }

  async associateAddress(region: string, allocationId: string, instanceId: string): Promise<void> {
    await this.#ec2(region).send(
      new AssociateAddressCommand({
        AllocationId: allocationId,
        InstanceId: instanceId,
        AllowReassociation: true,
      }),
    );
  }

  async tag(region: string, ids: string[], tags: Record<string, string>): Promise<void> {
    await this.#ec2(region).send(new CreateTagsCommand({ Resources: ids, Tags: tagList(tags) }));
  }

  async untag(region: string, ids: string[], keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    // DeleteTags with a Key and no Value removes the tag whatever its value.
    await this.#ec2(region).send(
      new DeleteTagsCommand({ Resources: ids, Tags: keys.map((Key) => ({ Key })) }),
    );
  }

  async terminate(region: string, ids: string[]): Promise<void> {
    await this.#ec2(region).send(new TerminateInstancesCommand({ InstanceIds: ids }));
  }
}
