/**
 * A stateful RDS (DB instances and manual DB snapshots) on aws-sdk-client-mock, answering as the
 * RDS API documents:
 *
 * - `CreateDBSnapshot` needs the instance `available` (RDS API reference, CreateDBSnapshot: "The
 *   source DB instance must be in the available or storage-optimization state"; error
 *   `InvalidDBInstanceState`), so an instance that is `backing-up`, `modifying`, `stopped`, …
 *   refuses it. While a snapshot of a Single-AZ instance
 *   is being taken, the instance itself reports `backing-up` ("Viewing Amazon RDS DB instance
 *   status": "backing-up: The DB instance is being backed up"): {@link RdsSwitches.backingUpWhileCreating}.
 * - The manual snapshot quota ("Quotas and constraints for Amazon RDS": manual DB instance
 *   snapshots, 100 per Region by default): one more answers `SnapshotQuotaExceeded` ("The request
 *   would result in the user exceeding the allowed number of DB snapshots").
 * - A new snapshot stays `creating` for a while, then `available` (`DBSnapshot.Status`):
 *   {@link RdsSwitches.creatingReads} reads here. RestoreDBInstanceFromDBSnapshot refuses a
 *   snapshot that is not `available` (`InvalidDBSnapshotState`).
 * - A Describe naming a snapshot or instance that does not exist answers `DBSnapshotNotFound` /
 *   `DBInstanceNotFound` (the SDK's `…Fault` classes); listing by `DBInstanceIdentifier` returns
 *   only that instance's snapshots, newest or not, in every state.
 * - A snapshot of an encrypted instance reports `Encrypted: true` and its `KmsKeyId` (the key ARN)
 *   in `DescribeDBSnapshots` (API reference, DBSnapshot); an instance restored from it is encrypted
 *   with the same key (RestoreDBInstanceFromDBSnapshot, `KmsKeyId`: "the restored DB instance is
 *   encrypted with the same KMS key as the DB snapshot") and reports `StorageEncrypted` and `KmsKeyId`.
 *
 * Time passes with calls: a read of a snapshot (or a CreateDBSnapshot its instance refuses) moves
 * it on. The SDK's own exception classes are thrown, so `name` and `instanceof` are what SDK v3 gives.
 */
import {
  CreateDBSnapshotCommand,
  DBInstanceAlreadyExistsFault,
  DBInstanceNotFoundFault,
  DBSnapshotAlreadyExistsFault,
  DBSnapshotNotFoundFault,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  InvalidDBInstanceStateFault,
  InvalidDBSnapshotStateFault,
  ListTagsForResourceCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  SnapshotQuotaExceededFault,
} from '@aws-sdk/client-rds';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { answer, awsError, CallLog, type Input, tagList, tagMap } from './common.ts';

export interface FakeDbInstance {
  id: string;
  region: string;
  status: string;
  engine?: string;
  allocatedStorage?: number;
  tags: Record<string, string>;
  /** The customer-managed KMS key ARN its storage is encrypted with (unencrypted without). */
  kmsKeyId?: string;
  /** Reads a restored instance stays `creating` before `available`. */
  creatingReads?: number;
  /** Deleted: the next reads answer `deleting`, then DBInstanceNotFound. */
  deletingReads?: number;
}

export interface FakeDbSnapshot {
  id: string;
  region: string;
  dbInstance: string;
  status: 'creating' | 'available' | 'failed' | 'deleting';
  type: 'manual' | 'automated';
  tags: Record<string, string>;
  createTime: Date;
  allocatedStorage: number;
  /** Reads that still see it `creating`. */
  creatingReads: number;
  /** The KMS key ARN it is encrypted with (unencrypted without). */
  kmsKeyId?: string;
}

export interface RdsSwitches {
  /** Reads a new snapshot stays `creating` (default 1). */
  creatingReads: number;
  /** Manual DB snapshots allowed per region (RDS default quota: 100). */
  manualSnapshotQuota: number;
  /** A Single-AZ instance reports `backing-up` while one of its snapshots is `creating` (default true). */
  backingUpWhileCreating: boolean;
}

export interface FakeRds {
  mock: AwsClientStub<RDSClient>;
  instances: Map<string, FakeDbInstance>;
  snapshots: Map<string, FakeDbSnapshot>;
  switches: RdsSwitches;
  addInstance(instance: Partial<FakeDbInstance> & { id: string; region: string }): FakeDbInstance;
  addSnapshot(
    snapshot: Partial<FakeDbSnapshot> & { id: string; region: string; dbInstance: string },
  ): FakeDbSnapshot;
  restore(): void;
}

const meta = { $metadata: {} };

function arn(region: string, kind: 'db' | 'snapshot', id: string): string {
  return `arn:aws:rds:${region}:123456789012:${kind}:${id}`;
}

/**
 * Installs the RDS fake.
 *
 * @example
 * const rds = fakeRds(log);
 * rds.addInstance({ id: 'datizmo-db', region: 'us-east-1' });
 */
export function fakeRds(log: CallLog = new CallLog(), switches: Partial<RdsSwitches> = {}): FakeRds {
  const mock = mockClient(RDSClient);
  const instances = new Map<string, FakeDbInstance>();
  const snapshots = new Map<string, FakeDbSnapshot>();
  const sw: RdsSwitches = {
    creatingReads: 1,
    manualSnapshotQuota: 100,
    backingUpWhileCreating: true,
    ...switches,
  };

  const statusOf = (db: FakeDbInstance): string => {
    if (
      db.status === 'available' &&
      sw.backingUpWhileCreating &&
      [...snapshots.values()].some((s) => s.dbInstance === db.id && s.status === 'creating')
    ) {
      return 'backing-up';
    }
    return db.status;
  };

  const addSnapshot: FakeRds['addSnapshot'] = (snapshot) => {
    const full: FakeDbSnapshot = {
      status: 'available',
      type: 'manual',
      tags: {},
      createTime: new Date(),
      allocatedStorage: 20,
      creatingReads: 0,
      ...snapshot,
    };
    snapshots.set(full.id, full);
    return full;
  };

  const seen = (s: FakeDbSnapshot) => {
    if (s.status !== 'creating') return;
    if (s.creatingReads > 0) s.creatingReads -= 1;
    else s.status = 'available';
  };

  const describeSnapshot = (s: FakeDbSnapshot) => ({
    DBSnapshotIdentifier: s.id,
    DBSnapshotArn: arn(s.region, 'snapshot', s.id),
    DBInstanceIdentifier: s.dbInstance,
    Status: s.status,
    SnapshotType: s.type,
    SnapshotCreateTime: s.createTime,
    AllocatedStorage: s.allocatedStorage,
    PercentProgress: s.status === 'available' ? 100 : 40,
    Encrypted: s.kmsKeyId !== undefined,
    ...(s.kmsKeyId ? { KmsKeyId: s.kmsKeyId } : {}),
    TagList: tagList(s.tags),
  });

  mock.on(CreateDBSnapshotCommand).callsFake(
    answer(log, 'rds:CreateDBSnapshot', (input: Input, region) => {
      const db = instances.get(input.DBInstanceIdentifier);
      if (!db || db.region !== region) {
        throw new DBInstanceNotFoundFault({
          message: `DBInstance ${input.DBInstanceIdentifier} not found.`,
          ...meta,
        });
      }
      const status = statusOf(db);
      // Time passes with calls: the snapshot that keeps the instance busy moves on.
      for (const other of snapshots.values()) if (other.dbInstance === db.id) seen(other);
      if (status !== 'available' && status !== 'storage-optimization') {
        throw new InvalidDBInstanceStateFault({
          message: `Cannot create a snapshot because the database instance ${db.id} is not currently in the available state.`,
          ...meta,
        });
      }
      if (snapshots.has(input.DBSnapshotIdentifier)) {
        throw new DBSnapshotAlreadyExistsFault({
          message: `Cannot create the snapshot because a snapshot with the identifier ${input.DBSnapshotIdentifier} already exists.`,
          ...meta,
        });
      }
      const manual = [...snapshots.values()].filter((s) => s.region === region && s.type === 'manual').length;
      if (manual >= sw.manualSnapshotQuota) {
        throw new SnapshotQuotaExceededFault({
          message: 'The request would result in the user exceeding the allowed number of DB snapshots.',
          ...meta,
        });
      }
      const s = addSnapshot({
        id: input.DBSnapshotIdentifier,
        region,
        dbInstance: db.id,
        status: 'creating',
        tags: tagMap(input.Tags),
        allocatedStorage: db.allocatedStorage ?? 20,
        creatingReads: sw.creatingReads,
        ...(db.kmsKeyId ? { kmsKeyId: db.kmsKeyId } : {}),
      });
      return { DBSnapshot: describeSnapshot(s) };
    }),
  );

  mock.on(DescribeDBSnapshotsCommand).callsFake(
    answer(log, 'rds:DescribeDBSnapshots', (input: Input, region) => {
      let found = [...snapshots.values()].filter((s) => s.region === region);
      if (input.DBSnapshotIdentifier) {
        found = found.filter((s) => s.id === input.DBSnapshotIdentifier);
        if (found.length === 0) {
          throw new DBSnapshotNotFoundFault({
            message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.`,
            ...meta,
          });
        }
      }
      if (input.DBInstanceIdentifier)
        found = found.filter((s) => s.dbInstance === input.DBInstanceIdentifier);
      if (input.SnapshotType) found = found.filter((s) => s.type === input.SnapshotType);
      for (const s of found) seen(s);
      return { DBSnapshots: found.map(describeSnapshot) };
    }),
  );

  mock.on(DeleteDBSnapshotCommand).callsFake(
    answer(log, 'rds:DeleteDBSnapshot', (input: Input, region) => {
      const s = snapshots.get(input.DBSnapshotIdentifier);
      if (!s || s.region !== region) {
        throw new DBSnapshotNotFoundFault({
          message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.`,
          ...meta,
        });
      }
      // DeleteDBSnapshot: "The DB snapshot must be in the available state to be deleted."
      if (s.status !== 'available') {
        throw new InvalidDBSnapshotStateFault({
          message: `Cannot delete the snapshot ${s.id}: it is ${s.status}.`,
          ...meta,
        });
      }
      snapshots.delete(s.id);
      return { DBSnapshot: { ...describeSnapshot(s), Status: 'deleted' } };
    }),
  );

  mock.on(DescribeDBInstancesCommand).callsFake(
    answer(log, 'rds:DescribeDBInstances', (input: Input, region) => {
      let found = [...instances.values()].filter((d) => d.region === region);
      if (input.DBInstanceIdentifier) {
        found = found.filter((d) => d.id === input.DBInstanceIdentifier);
        const db = found[0];
        if (!db) {
          throw new DBInstanceNotFoundFault({
            message: `DBInstance ${input.DBInstanceIdentifier} not found.`,
            ...meta,
          });
        }
        if (db.status === 'creating' && (db.creatingReads ?? 0) <= 0) db.status = 'available';
        else if (db.status === 'creating') db.creatingReads = (db.creatingReads ?? 0) - 1;
        if (db.status === 'deleting') {
          if ((db.deletingReads ?? 0) <= 0) {
            instances.delete(db.id);
            throw new DBInstanceNotFoundFault({ message: `DBInstance ${db.id} not found.`, ...meta });
          }
          db.deletingReads = (db.deletingReads ?? 0) - 1;
        }
      }
      return {
        DBInstances: found.map((d) => ({
          DBInstanceIdentifier: d.id,
          DBInstanceArn: arn(d.region, 'db', d.id),
          DBInstanceStatus: statusOf(d),
          Engine: d.engine ?? 'postgres',
          AllocatedStorage: d.allocatedStorage ?? 20,
          Endpoint: { Address: `${d.id}.abcdefghijkl.${d.region}.rds.amazonaws.com`, Port: 5432 },
          StorageEncrypted: d.kmsKeyId !== undefined,
          ...(d.kmsKeyId ? { KmsKeyId: d.kmsKeyId } : {}),
          TagList: tagList(d.tags),
        })),
      };
    }),
  );

  mock.on(RestoreDBInstanceFromDBSnapshotCommand).callsFake(
    answer(log, 'rds:RestoreDBInstanceFromDBSnapshot', (input: Input, region) => {
      const s = snapshots.get(input.DBSnapshotIdentifier);
      if (!s || s.region !== region) {
        throw new DBSnapshotNotFoundFault({
          message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.`,
          ...meta,
        });
      }
      if (s.status !== 'available') {
        throw new InvalidDBSnapshotStateFault({
          message: `Cannot restore from snapshot ${s.id}: it is ${s.status}, not available.`,
          ...meta,
        });
      }
      // RestoreDBInstanceFromDBSnapshot errors: "DBInstanceAlreadyExists: The user already has a DB
      // instance with the given identifier" (HTTP 400), which SDK v3 raises as its Fault class.
      if (instances.has(input.DBInstanceIdentifier)) {
        throw new DBInstanceAlreadyExistsFault({
          message: `DB instance ${input.DBInstanceIdentifier} already exists.`,
          ...meta,
        });
      }
      const db: FakeDbInstance = {
        id: input.DBInstanceIdentifier,
        region,
        status: 'creating',
        tags: tagMap(input.Tags),
        creatingReads: 1,
        allocatedStorage: s.allocatedStorage,
        ...(s.kmsKeyId ? { kmsKeyId: s.kmsKeyId } : {}),
      };
      instances.set(db.id, db);
      return { DBInstance: { DBInstanceIdentifier: db.id, DBInstanceStatus: 'creating' } };
    }),
  );

  mock.on(DeleteDBInstanceCommand).callsFake(
    answer(log, 'rds:DeleteDBInstance', (input: Input, region) => {
      const db = instances.get(input.DBInstanceIdentifier);
      if (!db || db.region !== region) {
        throw new DBInstanceNotFoundFault({
          message: `DBInstance ${input.DBInstanceIdentifier} not found.`,
          ...meta,
        });
      }
      db.status = 'deleting';
      db.deletingReads = 1;
      return { DBInstance: { DBInstanceIdentifier: db.id, DBInstanceStatus: 'deleting' } };
    }),
  );

  mock.on(ListTagsForResourceCommand).callsFake(
    answer(log, 'rds:ListTagsForResource', (input: Input) => {
      const id = String(input.ResourceName).split(':').at(-1) ?? '';
      const resource = instances.get(id) ?? snapshots.get(id);
      if (!resource)
        throw awsError('DBInstanceNotFound', `${input.ResourceName} not found.`, { status: 404 });
      return { TagList: tagList(resource.tags) };
    }),
  );

  return {
    mock,
    instances,
    snapshots,
    switches: sw,
    addInstance(instance) {
      const full: FakeDbInstance = { status: 'available', tags: {}, ...instance };
      instances.set(full.id, full);
      return full;
    },
    addSnapshot,
    restore: () => mock.restore(),
  };
}
