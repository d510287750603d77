/**
 * A stateful EC2 (snapshots, volumes, instances, images) on aws-sdk-client-mock, answering as the
 * EC2 API documents:
 *
 * - Eventual consistency ("Eventual consistency in the Amazon EC2 API", EC2 developer guide): a
 *   resource just created may not be visible yet; a Describe naming it answers
 *   `InvalidSnapshot.NotFound`, `InvalidInstanceID.NotFound` or `InvalidVolume.NotFound` "for a
 *   while" ({@link Ec2Switches.invisibleReads} reads here), which does not mean it does not exist.
 * - A snapshot starts `pending` and becomes `completed` (or `error`) later (`Snapshot.State`,
 *   EC2 API reference): here after {@link Ec2Switches.pendingReads} reads that see it.
 * - `DeleteSnapshot` of a snapshot that a registered AMI uses answers `InvalidSnapshot.InUse`
 *   ("Error codes for the Amazon EC2 API"; DeleteSnapshot: "you can't delete a snapshot of the root
 *   device of an EBS volume used by a registered AMI. You must first deregister the AMI").
 * - `ConcurrentSnapshotLimitExceeded` ("Error codes for the Amazon EC2 API": "You've reached the
 *   limit on the number of concurrent snapshots you can create on the specified volume. Wait until
 *   the 'pending' requests have completed"): {@link Ec2Switches.concurrentSnapshotsPerVolume}.
 * - A Describe with ids answers every id or fails as a whole (InvalidSnapshot.NotFound names the
 *   first missing id); a Describe with filters answers only what matches, never a NotFound.
 *
 * Time passes with calls: a read of a snapshot (or a CreateSnapshot(s) its volume refuses) moves
 * it on. The state maps and switches are public, so that a test (or another fake) builds on them.
 */
import {
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { answer, awsError, CallLog, type Input, specifiedTags, tagList } from './common.ts';

/** Ids AWS hands out are never reused: one counter for every fake account of the process. */
let serial = 0;

export interface FakeSnapshot {
  id: string;
  volumeId: string;
  region: string;
  state: 'pending' | 'completed' | 'error';
  tags: Record<string, string>;
  startTime: Date;
  volumeSize: number;
  description?: string;
  stateMessage?: string;
  /** Describes by id that still answer NotFound (eventual consistency). */
  invisibleReads: number;
  /** Reads that still see it `pending`. */
  pendingReads: number;
  /** Ends in `error` instead of `completed`. */
  fails?: boolean;
}

export interface FakeEc2Volume {
  id: string;
  region: string;
  size: number;
  instanceId?: string;
  device?: string;
  tags: Record<string, string>;
}

export interface FakeEc2Instance {
  id: string;
  region: string;
  state: string;
  tags: Record<string, string>;
  /** Describes by id that still answer NotFound (an instance just launched). */
  invisibleReads?: number;
}

/** What the fake does that AWS may do; change them between calls. */
export interface Ec2Switches {
  /** Describe-by-id reads a new snapshot answers NotFound before it is visible (default 0). */
  invisibleReads: number;
  /** Reads a new snapshot stays `pending` before `completed` (default 1). */
  pendingReads: number;
  /** Snapshots of one volume that may be `pending` at once (AWS: 5 for most volume types). */
  concurrentSnapshotsPerVolume: number;
  /** The next N calls of an operation answer `RequestLimitExceeded` (EC2's throttling code). */
  throttle: Partial<Record<string, number>>;
}

export interface FakeEc2 {
  mock: AwsClientStub<EC2Client>;
  snapshots: Map<string, FakeSnapshot>;
  volumes: Map<string, FakeEc2Volume>;
  instances: Map<string, FakeEc2Instance>;
  /** Registered AMIs and the snapshots they use. */
  images: Map<string, { id: string; snapshotIds: string[] }>;
  switches: Ec2Switches;
  /** Adds a volume attached to an instance (the instance is added if it is new). */
  addVolume(volume: Omit<FakeEc2Volume, 'tags'> & { tags?: Record<string, string> }): FakeEc2Volume;
  /** Adds a snapshot as it stands (e.g. an old completed one). */
  addSnapshot(
    snapshot: Partial<FakeSnapshot> & { id: string; tags: Record<string, string>; region: string },
  ): FakeSnapshot;
  restore(): void;
}

/**
 * Installs the EC2 fake.
 *
 * @example
 * const ec2 = fakeEc2(log, { invisibleReads: 2 });
 * ec2.addVolume({ id: 'vol-1', region: 'eu-west-1', size: 8, instanceId: 'i-1', device: '/dev/xvda' });
 */
export function fakeEc2(log: CallLog = new CallLog(), switches: Partial<Ec2Switches> = {}): FakeEc2 {
  const mock = mockClient(EC2Client);
  const snapshots = new Map<string, FakeSnapshot>();
  const volumes = new Map<string, FakeEc2Volume>();
  const instances = new Map<string, FakeEc2Instance>();
  const images = new Map<string, { id: string; snapshotIds: string[] }>();
  const sw: Ec2Switches = {
    invisibleReads: 0,
    pendingReads: 1,
    concurrentSnapshotsPerVolume: 5,
    throttle: {},
    ...switches,
  };

  const throttled = (operation: string) => {
    const left = sw.throttle[operation] ?? 0;
    if (left <= 0) return;
    sw.throttle[operation] = left - 1;
    // "Error codes for the Amazon EC2 API": RequestLimitExceeded, the account's API request rate.
    throw awsError('RequestLimitExceeded', 'Request limit exceeded.', { status: 503 });
  };

  const addSnapshot: FakeEc2['addSnapshot'] = (snapshot) => {
    const full: FakeSnapshot = {
      volumeId: 'vol-ffffffffffffffff0',
      state: 'completed',
      startTime: new Date(),
      volumeSize: 8,
      invisibleReads: 0,
      pendingReads: 0,
      ...snapshot,
    };
    snapshots.set(full.id, full);
    return full;
  };

  const checkConcurrent = (volume: FakeEc2Volume) => {
    const pending = [...snapshots.values()].filter(
      (s) => s.volumeId === volume.id && s.state === 'pending',
    ).length;
    if (pending >= sw.concurrentSnapshotsPerVolume) {
      // Time passes with calls: the pending snapshots of the volume move on.
      for (const s of snapshots.values()) if (s.volumeId === volume.id) seen(s);
      throw awsError(
        'ConcurrentSnapshotLimitExceeded',
        `You've reached the limit on the number of concurrent snapshots you can create on volume ${volume.id}. Wait until the 'pending' requests have completed.`,
      );
    }
  };

  const create = (volume: FakeEc2Volume, tags: Record<string, string>, description?: string) => {
    checkConcurrent(volume);
    serial += 1;
    return addSnapshot({
      id: `snap-${serial.toString(16).padStart(17, '0')}`,
      volumeId: volume.id,
      region: volume.region,
      state: 'pending',
      tags,
      volumeSize: volume.size,
      invisibleReads: sw.invisibleReads,
      pendingReads: sw.pendingReads,
      ...(description ? { description } : {}),
    });
  };

  /** A read that sees the snapshot: it moves towards `completed`. */
  const seen = (s: FakeSnapshot) => {
    if (s.state !== 'pending') return;
    if (s.pendingReads > 0) s.pendingReads -= 1;
    else {
      s.state = s.fails ? 'error' : 'completed';
      if (s.fails) s.stateMessage = 'Snapshot creation failed';
    }
  };

  const describeSnapshot = (s: FakeSnapshot) => ({
    SnapshotId: s.id,
    VolumeId: s.volumeId,
    State: s.state,
    Progress: s.state === 'completed' ? '100%' : s.state === 'pending' ? '42%' : '0%',
    StartTime: s.startTime,
    VolumeSize: s.volumeSize,
    OwnerId: '123456789012',
    ...(s.description ? { Description: s.description } : {}),
    ...(s.stateMessage ? { StateMessage: s.stateMessage } : {}),
    Tags: tagList(s.tags),
  });

  mock.on(CreateSnapshotCommand).callsFake(
    answer(log, 'ec2:CreateSnapshot', (input: Input, region) => {
      throttled('CreateSnapshot');
      const volume = volumes.get(input.VolumeId);
      if (!volume || volume.region !== region) {
        throw awsError('InvalidVolume.NotFound', `The volume '${input.VolumeId}' does not exist.`);
      }
      const s = create(volume, specifiedTags(input.TagSpecifications, 'snapshot'), input.Description);
      return { ...describeSnapshot(s), State: 'pending' };
    }),
  );

  mock.on(CreateSnapshotsCommand).callsFake(
    answer(log, 'ec2:CreateSnapshots', (input: Input, region) => {
      throttled('CreateSnapshots');
      const instanceId = input.InstanceSpecification?.InstanceId;
      const instance = instances.get(instanceId);
      if (!instance || instance.region !== region) {
        throw awsError('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
      }
      const tags = specifiedTags(input.TagSpecifications, 'snapshot');
      const attached = [...volumes.values()].filter(
        (v) =>
          v.instanceId === instanceId &&
          !(input.InstanceSpecification?.ExcludeBootVolume && v.device === '/dev/xvda'),
      );
      // All or nothing: a volume at its concurrent-snapshot limit refuses the whole call.
      for (const v of attached) checkConcurrent(v);
      const created = attached.map((v) => {
        const own = input.CopyTagsFromSource === 'volume' ? { ...v.tags, ...tags } : tags;
        return create(v, own, input.Description);
      });
      return {
        Snapshots: created.map((s) => ({
          SnapshotId: s.id,
          VolumeId: s.volumeId,
          State: 'pending',
          StartTime: s.startTime,
          VolumeSize: s.volumeSize,
          Tags: tagList(s.tags),
        })),
      };
    }),
  );

  mock.on(DescribeSnapshotsCommand).callsFake(
    answer(log, 'ec2:DescribeSnapshots', (input: Input, region) => {
      throttled('DescribeSnapshots');
      const inRegion = [...snapshots.values()].filter((s) => s.region === region);
      let found: FakeSnapshot[];
      if (input.SnapshotIds?.length) {
        found = [];
        for (const id of input.SnapshotIds as string[]) {
          const s = inRegion.find((x) => x.id === id);
          if (s && s.invisibleReads > 0) {
            s.invisibleReads -= 1;
            throw awsError('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
          }
          if (!s) throw awsError('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
          found.push(s);
        }
      } else {
        // A filtered list shows only what has propagated.
        found = inRegion.filter((s) => s.invisibleReads === 0);
      }
      for (const filter of (input.Filters ?? []) as { Name: string; Values: string[] }[]) {
        if (filter.Name.startsWith('tag:')) {
          const key = filter.Name.slice(4);
          found = found.filter((s) => filter.Values.includes(s.tags[key] ?? '\u0000'));
        } else if (filter.Name === 'volume-id') {
          found = found.filter((s) => filter.Values.includes(s.volumeId));
        } else if (filter.Name === 'status') {
          found = found.filter((s) => filter.Values.includes(s.state));
        }
      }
      for (const s of found) seen(s);
      return { Snapshots: found.map(describeSnapshot) };
    }),
  );

  mock.on(DeleteSnapshotCommand).callsFake(
    answer(log, 'ec2:DeleteSnapshot', (input: Input, region) => {
      throttled('DeleteSnapshot');
      const s = snapshots.get(input.SnapshotId);
      if (!s || s.region !== region) {
        throw awsError('InvalidSnapshot.NotFound', `The snapshot '${input.SnapshotId}' does not exist.`);
      }
      const image = [...images.values()].find((i) => i.snapshotIds.includes(s.id));
      if (image) {
        throw awsError('InvalidSnapshot.InUse', `The snapshot ${s.id} is currently in use by ${image.id}`);
      }
      snapshots.delete(s.id);
      return {};
    }),
  );

  mock.on(DescribeVolumesCommand).callsFake(
    answer(log, 'ec2:DescribeVolumes', (input: Input, region) => {
      const ids: string[] = input.VolumeIds ?? [...volumes.keys()];
      return {
        Volumes: ids.map((id) => {
          const v = volumes.get(id);
          if (!v || v.region !== region) {
            throw awsError('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
          }
          return {
            VolumeId: v.id,
            Size: v.size,
            State: v.instanceId ? 'in-use' : 'available',
            Attachments: v.instanceId
              ? [{ InstanceId: v.instanceId, Device: v.device, State: 'attached' }]
              : [],
            Tags: tagList(v.tags),
          };
        }),
      };
    }),
  );

  mock.on(DescribeInstancesCommand).callsFake(
    answer(log, 'ec2:DescribeInstances', (input: Input, region) => {
      let found = [...instances.values()].filter((i) => i.region === region);
      if (input.InstanceIds?.length) {
        found = (input.InstanceIds as string[]).map((id) => {
          const i = found.find((x) => x.id === id);
          if (!i || (i.invisibleReads ?? 0) > 0) {
            if (i) i.invisibleReads = (i.invisibleReads ?? 0) - 1;
            throw awsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
          }
          return i;
        });
      } else {
        found = found.filter((i) => (i.invisibleReads ?? 0) === 0);
      }
      for (const filter of (input.Filters ?? []) as { Name: string; Values: string[] }[]) {
        if (filter.Name.startsWith('tag:')) {
          const key = filter.Name.slice(4);
          found = found.filter((i) => filter.Values.includes(i.tags[key] ?? '\u0000'));
        } else if (filter.Name === 'instance-state-name') {
          found = found.filter((i) => filter.Values.includes(i.state));
        }
      }
      return {
        Reservations: found.length
          ? [
              {
                Instances: found.map((i) => ({
                  InstanceId: i.id,
                  State: { Name: i.state },
                  Tags: tagList(i.tags),
                  BlockDeviceMappings: [...volumes.values()]
                    .filter((v) => v.instanceId === i.id)
                    .map((v) => ({ DeviceName: v.device, Ebs: { VolumeId: v.id } })),
                })),
              },
            ]
          : [],
      };
    }),
  );

  mock.on(CreateTagsCommand).callsFake(
    answer(log, 'ec2:CreateTags', (input: Input) => {
      for (const id of input.Resources as string[]) {
        const resource = snapshots.get(id) ?? volumes.get(id) ?? instances.get(id);
        if (!resource) throw awsError('InvalidID', `The ID '${id}' is not valid`);
        for (const t of input.Tags as { Key: string; Value: string }[]) resource.tags[t.Key] = t.Value;
      }
      return {};
    }),
  );

  return {
    mock,
    snapshots,
    volumes,
    instances,
    images,
    switches: sw,
    addVolume(volume) {
      const full: FakeEc2Volume = { tags: {}, ...volume };
      volumes.set(full.id, full);
      if (full.instanceId && !instances.has(full.instanceId)) {
        instances.set(full.instanceId, {
          id: full.instanceId,
          region: full.region,
          state: 'running',
          tags: {},
        });
      }
      return full;
    },
    addSnapshot,
    restore: () => mock.restore(),
  };
}
