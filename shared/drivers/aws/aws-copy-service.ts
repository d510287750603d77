/**
 * Snapshots and recovery points in AWS, each tagged `stepops:target`, `stepops:backup` and
 * `stepops:run` at creation:
 *
 * - EBS: `CreateSnapshots` of every volume of each instance (or `CreateSnapshot` of each named
 *   volume), read with `DescribeSnapshots` (`pending` → `completed` | `error`);
 * - RDS: `CreateDBSnapshot` (or `CreateDBClusterSnapshot`), read until `available` (or `failed`);
 * - AWS Backup: `StartBackupJob` per resource into a vault with a role, read with
 *   `DescribeBackupJob` until `COMPLETED` (`FAILED`, `ABORTED`, `EXPIRED`, `PARTIAL` fail).
 *
 * Deleting re-reads the copy's tags first and refuses one whose tags do not name the job
 * ({@link NotStepopsCopyError}); the IAM policy refuses it too. Throttled calls raise
 * {@link BackupThrottledError}, which the workflow retries with backoff.
 */
import {
  type BackupClient,
  DeleteRecoveryPointCommand,
  DescribeBackupJobCommand,
  DescribeRecoveryPointCommand,
  ListRecoveryPointsByBackupVaultCommand,
  type ListRecoveryPointsByBackupVaultCommandOutput,
  ListTagsCommand,
  StartBackupJobCommand,
} from '@aws-sdk/client-backup';
import {
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  type DescribeSnapshotsCommandOutput,
  type EC2Client,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  DeleteDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
  type Tag,
} from '@aws-sdk/client-rds';
import { SnapshotFailedError } from '../../errors.ts';
import {
  BackupSourceBusyError,
  BackupThrottledError,
  CopyInUseError,
  NotStepopsCopyError,
  SnapshotQuotaExceededError,
} from '../errors.ts';
import {
  AWS_COPY_STATUS_PACE_MS,
  type CopyRef,
  type CopyRequest,
  type CopyScope,
  type CopyService,
  type CopyState,
  type CopyStatus,
  type TaggedCopy,
} from '../ports.ts';
import { backupClient } from './backup-client.ts';
import { BACKUP_TAGS, isThrottling } from './copy-tags.ts';
import { ec2Client } from './ec2-client.ts';
import { rdsClient } from './rds-client.ts';

export { BACKUP_TAGS, isThrottling };

const GIB = 1024 ** 3;

function describe(error: unknown): string {
  const e = error as { name?: string; message?: string };
  return e.name && e.message ? `${e.name}: ${e.message}` : String(error);
}

/**
 * Refusals that say "not now" about the source, not that the copy is impossible: CreateDBSnapshot of
 * an instance that is not `available` (RDS API reference, CreateDBSnapshot: "The source DB instance
 * must be in the available or storage-optimization state"), and a volume at EC2's concurrent
 * snapshot limit ("Error codes for the Amazon EC2 API": wait until the pending snapshots complete).
 */
const SOURCE_BUSY = new Set([
  'InvalidDBInstanceStateFault',
  'InvalidDBInstanceState',
  'InvalidDBClusterStateFault',
  'ConcurrentSnapshotLimitExceeded',
]);
/** The manual snapshot quota (RDS: 100 per region by default). */
const QUOTA_EXCEEDED = new Set(['SnapshotQuotaExceededFault', 'SnapshotQuotaExceeded']);
/** A resource that another one uses: an EBS snapshot behind a registered AMI (DeleteSnapshot). */
const IN_USE = new Set(['InvalidSnapshot.InUse']);
/** A resource just created that the service does not show yet (EC2 and RDS are eventually consistent). */
const NOT_FOUND = new Set([
  'InvalidSnapshot.NotFound',
  'DBSnapshotNotFoundFault',
  'DBClusterSnapshotNotFoundFault',
]);

function isNotFound(error: unknown): boolean {
  return NOT_FOUND.has((error as { name?: string }).name ?? '');
}

/**
 * Runs an AWS call, turning throttling into {@link BackupThrottledError}, a busy source into
 * {@link BackupSourceBusyError}, the snapshot quota into {@link SnapshotQuotaExceededError}, a copy
 * still in use into {@link CopyInUseError}, and the rest into `wrap`.
 */
async function call<T>(what: string, fn: () => Promise<T>, wrap = true): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (isThrottling(error)) throw new BackupThrottledError(`${what} was throttled: ${describe(error)}`);
    if (SOURCE_BUSY.has(name)) {
      throw new BackupSourceBusyError(
        `${what} was refused for now: ${describe(error)}; it is tried again later`,
      );
    }
    if (QUOTA_EXCEEDED.has(name)) {
      throw new SnapshotQuotaExceededError(
        `${what} was refused: ${describe(error)}: the account's quota of manual snapshots in this region is reached (RDS allows 100 by default, pre-deploy snapshots included); delete old snapshots or ask AWS for a higher quota`,
      );
    }
    if (IN_USE.has(name)) {
      throw new CopyInUseError(
        `${what} was refused: ${describe(error)}: the copy is kept while it is in use`,
      );
    }
    if (!wrap) throw error;
    throw new SnapshotFailedError(`${what} failed: ${describe(error)}`);
  }
}

function tagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function tagMap(tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined) {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

function matches(tags: Record<string, string>, scope: CopyScope): boolean {
  return tags[BACKUP_TAGS.target] === scope.target && tags[BACKUP_TAGS.backup] === scope.backup;
}

function combine(states: CopyState[]): CopyState {
  if (states.includes('failed')) return 'failed';
  return states.length > 0 && states.every((s) => s === 'completed') ? 'completed' : 'pending';
}

export interface AwsCopyServiceOptions {
  ec2?: (region: string) => EC2Client;
  rds?: (region: string) => RDSClient;
  backup?: (region: string) => BackupClient;
}

/**
 * @example
 * const copies = new AwsCopyService();
 * const ref = await copies.start({ kind: 'rds-snapshot', region: 'us-east-1', dbInstance: 'datizmo-db', snapshotId, tags });
 * const status = await copies.status(ref); // { state: 'pending', … } until 'completed'
 */
export class AwsCopyService implements CopyService {
  /** AWS rations Describe calls: read a copy every 2 s at most, then less often. */
  readonly statusPaceMs = AWS_COPY_STATUS_PACE_MS;
  readonly #ec2: (region: string) => EC2Client;
  readonly #rds: (region: string) => RDSClient;
  readonly #backup: (region: string) => BackupClient;

  constructor(options: AwsCopyServiceOptions = {}) {
    this.#ec2 = options.ec2 ?? ec2Client;
    this.#rds = options.rds ?? rdsClient;
    this.#backup = options.backup ?? backupClient;
  }

  async start(request: CopyRequest): Promise<CopyRef> {
    switch (request.kind) {
      case 'ebs-snapshot':
        return this.#startEbs(request);
      case 'rds-snapshot': {
        const rds = this.#rds(request.region);
        const Tags = tagList(request.tags);
        if (request.dbCluster) {
          await call(`rds:CreateDBClusterSnapshot of ${request.dbCluster}`, () =>
            rds.send(
              new CreateDBClusterSnapshotCommand({
                DBClusterIdentifier: request.dbCluster,
                DBClusterSnapshotIdentifier: request.snapshotId,
                Tags,
              }),
            ),
          );
          return {
            kind: 'rds-snapshot',
            cluster: true,
            resources: [{ id: request.snapshotId, region: request.region }],
          };
        }
        await call(`rds:CreateDBSnapshot of ${request.dbInstance}`, () =>
          rds.send(
            new CreateDBSnapshotCommand({
              DBInstanceIdentifier: request.dbInstance,
              DBSnapshotIdentifier: request.snapshotId,
              Tags,
            }),
          ),
        );
        return { kind: 'rds-snapshot', resources: [{ id: request.snapshotId, region: request.region }] };
      }
      case 'aws-backup': {
        const client = this.#backup(request.region);
        const resources = [];
        for (const [i, resourceArn] of request.resourceArns.entries()) {
          const output = await call(`backup:StartBackupJob for ${resourceArn}`, () =>
            client.send(
              new StartBackupJobCommand({
                BackupVaultName: request.vault,
                ResourceArn: resourceArn,
                IamRoleArn: request.iamRoleArn,
                IdempotencyToken: `${request.idempotencyToken}-${i}`.slice(0, 64),
                RecoveryPointTags: request.tags,
                ...(request.deleteAfterDays !== undefined
                  ? { Lifecycle: { DeleteAfterDays: request.deleteAfterDays } }
                  : {}),
              }),
            ),
          );
          if (!output.BackupJobId)
            throw new SnapshotFailedError(`StartBackupJob for ${resourceArn} returned no job id`);
          resources.push({ id: output.BackupJobId, region: request.region });
        }
        return { kind: 'aws-backup', vault: request.vault, resources };
      }
    }
  }

  async #startEbs(request: Extract<CopyRequest, { kind: 'ebs-snapshot' }>): Promise<CopyRef> {
    const TagSpecifications = [{ ResourceType: 'snapshot' as const, Tags: tagList(request.tags) }];
    const resources = [];
    if (request.volumes?.length) {
      const region =
        request.region ?? (request.hosts[0]?.kind === 'ec2' ? request.hosts[0].region : undefined);
      if (!region) throw new SnapshotFailedError('named EBS volumes need a region');
      for (const volume of request.volumes) {
        const output = await call(`ec2:CreateSnapshot of ${volume}`, () =>
          this.#ec2(region).send(
            new CreateSnapshotCommand({
              VolumeId: volume,
              Description: request.description,
              TagSpecifications,
            }),
          ),
        );
        if (output.SnapshotId) resources.push({ id: output.SnapshotId, region });
      }
    } else {
      for (const host of request.hosts) {
        if (host.kind !== 'ec2')
          throw new SnapshotFailedError(`EBS snapshots need ec2 hosts; ${host.id} is local`);
        const output = await call(`ec2:CreateSnapshots of ${host.id}`, () =>
          this.#ec2(host.region).send(
            new CreateSnapshotsCommand({
              InstanceSpecification: { InstanceId: host.id, ExcludeBootVolume: false },
              Description: request.description,
              TagSpecifications,
            }),
          ),
        );
        for (const s of output.Snapshots ?? [])
          if (s.SnapshotId) resources.push({ id: s.SnapshotId, region: host.region });
      }
    }
    if (resources.length === 0)
      throw new SnapshotFailedError('no EBS snapshot was created (no volumes found)');
    return { kind: 'ebs-snapshot', resources };
  }

  async status(ref: CopyRef): Promise<CopyStatus> {
    switch (ref.kind) {
      case 'ebs-snapshot': {
        const byRegion = Map.groupBy(ref.resources, (r) => r.region ?? '');
        const snapshots: Snapshot[] = [];
        const unseen: string[] = [];
        for (const [region, resources] of byRegion) {
          const describe = (ids: string[]) =>
            call(
              'ec2:DescribeSnapshots',
              () => this.#ec2(region).send(new DescribeSnapshotsCommand({ SnapshotIds: ids })),
              false,
            );
          try {
            snapshots.push(...((await describe(resources.map((r) => r.id))).Snapshots ?? []));
          } catch (error) {
            if (!isNotFound(error)) throw error;
            // EC2 fails the whole call for one id it does not show yet: read each to know which.
            for (const { id } of resources) {
              try {
                snapshots.push(...((await describe([id])).Snapshots ?? []));
              } catch (one) {
                if (!isNotFound(one)) throw one;
                unseen.push(id);
              }
            }
          }
        }
        const states = snapshots.map(
          (s): CopyState =>
            s.State === 'completed' ? 'completed' : s.State === 'error' ? 'failed' : 'pending',
        );
        if (snapshots.length + unseen.length < ref.resources.length) states.push('failed');
        if (unseen.length > 0) states.push('pending');
        const failed = snapshots.filter((s) => s.State === 'error');
        return {
          ...(unseen.length > 0 ? { unseen } : {}),
          state: combine(states),
          resources: ref.resources,
          sizeBytes: snapshots.reduce(
            (sum, s) => sum + (s.FullSnapshotSizeInBytes ?? (s.VolumeSize ?? 0) * GIB),
            0,
          ),
          detail:
            failed.length > 0
              ? `snapshot ${failed.map((s) => `${s.SnapshotId} error: ${s.StateMessage ?? 'no message'}`).join('; ')}`
              : [
                  ...snapshots.map((s) => `${s.SnapshotId} ${s.State} ${s.Progress ?? ''}`.trim()),
                  ...unseen.map((id) => `${id} not visible yet`),
                ].join(', '),
        };
      }
      case 'rds-snapshot': {
        const resource = ref.resources[0];
        if (!resource?.region) throw new SnapshotFailedError('an RDS snapshot reference needs a region');
        const rds = this.#rds(resource.region);
        let found: { Status?: string; AllocatedStorage?: number; PercentProgress?: number } | undefined;
        try {
          found = ref.cluster
            ? (
                await call(
                  'rds:DescribeDBClusterSnapshots',
                  () =>
                    rds.send(
                      new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: resource.id }),
                    ),
                  false,
                )
              ).DBClusterSnapshots?.[0]
            : (
                await call(
                  'rds:DescribeDBSnapshots',
                  () => rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: resource.id })),
                  false,
                )
              ).DBSnapshots?.[0];
        } catch (error) {
          if (!isNotFound(error)) throw error;
          return {
            state: 'pending',
            unseen: [resource.id],
            resources: ref.resources,
            detail: `${resource.id} not visible yet`,
          };
        }
        const status = found?.Status ?? 'missing';
        const state: CopyState =
          status === 'available'
            ? 'completed'
            : ['failed', 'error', 'incompatible-restore', 'missing'].includes(status)
              ? 'failed'
              : 'pending';
        return {
          state,
          resources: ref.resources,
          sizeBytes: (found?.AllocatedStorage ?? 0) * GIB,
          detail: `${resource.id} ${status}${found?.PercentProgress !== undefined ? ` ${found.PercentProgress}%` : ''}`,
        };
      }
      case 'aws-backup': {
        const resources = [];
        const states: CopyState[] = [];
        const details: string[] = [];
        let size = 0;
        for (const job of ref.resources) {
          const output = await call(
            'backup:DescribeBackupJob',
            () => this.#backup(job.region ?? '').send(new DescribeBackupJobCommand({ BackupJobId: job.id })),
            false,
          );
          const state = output.State ?? 'UNKNOWN';
          states.push(
            state === 'COMPLETED'
              ? 'completed'
              : ['FAILED', 'ABORTED', 'EXPIRED', 'PARTIAL'].includes(state)
                ? 'failed'
                : 'pending',
          );
          details.push(`${job.id} ${state}${output.StatusMessage ? `: ${output.StatusMessage}` : ''}`);
          size += output.BackupSizeInBytes ?? 0;
          resources.push(
            state === 'COMPLETED' && output.RecoveryPointArn
              ? { id: output.RecoveryPointArn, region: job.region }
              : job,
          );
        }
        return { state: combine(states), resources, sizeBytes: size, detail: details.join('; ') };
      }
    }
  }

  async listTagged(scope: CopyScope): Promise<TaggedCopy[]> {
    const region = scope.region ?? '';
    const copies = new Map<string, TaggedCopy>();
    const add = (
      tags: Record<string, string>,
      id: string,
      state: CopyState,
      createdAt: Date | undefined,
      size?: number,
    ) => {
      if (!matches(tags, scope)) return;
      const runId = tags[BACKUP_TAGS.run] ?? `untagged-run:${id}`;
      const copy = copies.get(runId) ?? {
        runId,
        resources: [],
        state,
        createdAt: (createdAt ?? new Date(0)).toISOString(),
        sizeBytes: 0,
      };
      copy.resources.push({ id, region: scope.region });
      if (createdAt && createdAt.getTime() > Date.parse(copy.createdAt))
        copy.createdAt = createdAt.toISOString();
      copy.state = combine([copy.state, state]);
      copy.sizeBytes = (copy.sizeBytes ?? 0) + (size ?? 0);
      copies.set(runId, copy);
    };
    if (scope.kind === 'ebs-snapshot') {
      let token: string | undefined;
      do {
        const output: DescribeSnapshotsCommandOutput = await call(
          'ec2:DescribeSnapshots',
          () =>
            this.#ec2(region).send(
              new DescribeSnapshotsCommand({
                OwnerIds: ['self'],
                Filters: [
                  { Name: `tag:${BACKUP_TAGS.target}`, Values: [scope.target] },
                  { Name: `tag:${BACKUP_TAGS.backup}`, Values: [scope.backup] },
                ],
                ...(token ? { NextToken: token } : {}),
              }),
            ),
          false,
        );
        for (const s of output.Snapshots ?? []) {
          if (!s.SnapshotId) continue;
          const state: CopyState =
            s.State === 'completed' ? 'completed' : s.State === 'error' ? 'failed' : 'pending';
          add(tagMap(s.Tags), s.SnapshotId, state, s.StartTime, (s.VolumeSize ?? 0) * GIB);
        }
        token = output.NextToken;
      } while (token);
    } else if (scope.kind === 'rds-snapshot') {
      const rds = this.#rds(region);
      // By the instance or cluster: a call naming no identifier is authorised against '*', which
      // the role (allowed on that database and its stepops snapshots) does not get.
      const database = scope.database;
      if (!database) {
        throw new SnapshotFailedError(
          `listing the RDS snapshots of ${scope.target}/${scope.backup} needs its DB instance or cluster identifier`,
        );
      }
      let marker: string | undefined;
      do {
        if (scope.cluster) {
          const output = await call(
            'rds:DescribeDBClusterSnapshots',
            () =>
              rds.send(
                new DescribeDBClusterSnapshotsCommand({
                  DBClusterIdentifier: database,
                  SnapshotType: 'manual',
                  ...(marker ? { Marker: marker } : {}),
                }),
              ),
            false,
          );
          for (const s of output.DBClusterSnapshots ?? []) {
            if (!s.DBClusterSnapshotIdentifier) continue;
            add(
              tagMap(s.TagList as Tag[]),
              s.DBClusterSnapshotIdentifier,
              s.Status === 'available' ? 'completed' : s.Status === 'failed' ? 'failed' : 'pending',
              s.SnapshotCreateTime,
              (s.AllocatedStorage ?? 0) * GIB,
            );
          }
          marker = output.Marker;
        } else {
          const output = await call(
            'rds:DescribeDBSnapshots',
            () =>
              rds.send(
                new DescribeDBSnapshotsCommand({
                  DBInstanceIdentifier: database,
                  SnapshotType: 'manual',
                  ...(marker ? { Marker: marker } : {}),
                }),
              ),
            false,
          );
          for (const s of output.DBSnapshots ?? []) {
            if (!s.DBSnapshotIdentifier) continue;
            add(
              tagMap(s.TagList),
              s.DBSnapshotIdentifier,
              s.Status === 'available' ? 'completed' : s.Status === 'failed' ? 'failed' : 'pending',
              s.SnapshotCreateTime,
              (s.AllocatedStorage ?? 0) * GIB,
            );
          }
          marker = output.Marker;
        }
      } while (marker);
    } else {
      const client = this.#backup(region);
      const cataloguedRun = new Map(
        (scope.catalogued ?? []).flatMap((entry) => entry.resources.map((r) => [r.id, entry.runId] as const)),
      );
      let token: string | undefined;
      do {
        const output: ListRecoveryPointsByBackupVaultCommandOutput = await call(
          'backup:ListRecoveryPointsByBackupVault',
          () =>
            client.send(
              new ListRecoveryPointsByBackupVaultCommand({
                BackupVaultName: scope.vault,
                ...(token ? { NextToken: token } : {}),
              }),
            ),
          false,
        );
        for (const point of output.RecoveryPoints ?? []) {
          const arn = point.RecoveryPointArn;
          if (!arn) continue;
          let tags: Record<string, string>;
          if (isBackupManagedPoint(arn)) {
            tags =
              (
                await call(
                  'backup:ListTags',
                  () => client.send(new ListTagsCommand({ ResourceArn: arn })),
                  false,
                )
              ).Tags ?? {};
          } else {
            // EC2 and EBS points have no AWS Backup tags (ListTags refuses them): the job's only
            // when its catalogue entry recorded the point from the backup job stepops started.
            const runId = cataloguedRun.get(arn);
            if (!runId) continue;
            tags = {
              [BACKUP_TAGS.target]: scope.target,
              [BACKUP_TAGS.backup]: scope.backup,
              [BACKUP_TAGS.run]: runId,
            };
          }
          const status = point.Status ?? '';
          add(
            tags,
            arn,
            status === 'COMPLETED'
              ? 'completed'
              : ['EXPIRED', 'PARTIAL', 'DELETING'].includes(status)
                ? 'failed'
                : 'pending',
            point.CreationDate,
            point.BackupSizeInBytes,
          );
        }
        token = output.NextToken;
      } while (token);
    }
    return [...copies.values()];
  }

  async remove(ref: CopyRef, scope: CopyScope, runId: string): Promise<void> {
    const tagged = await this.listTagged({
      ...scope,
      ...(ref.cluster ? { cluster: true } : {}),
      ...(ref.vault ? { vault: ref.vault } : {}),
    });
    // Only the resources of the run that made the copy: a catalogue row naming another run's
    // snapshots must never delete them.
    const ours = new Set(
      tagged.filter((c) => c.runId === runId).flatMap((c) => c.resources.map((r) => r.id)),
    );
    for (const resource of ref.resources) {
      if (!ours.has(resource.id)) {
        throw new NotStepopsCopyError(
          `${resource.id} does not carry the tags ${BACKUP_TAGS.target}=${scope.target}, ${BACKUP_TAGS.backup}=${scope.backup}, ${BACKUP_TAGS.run}=${runId}: not deleted`,
        );
      }
    }
    for (const resource of ref.resources) {
      const region = resource.region ?? scope.region ?? '';
      if (ref.kind === 'ebs-snapshot') {
        await call(`ec2:DeleteSnapshot of ${resource.id}`, () =>
          this.#ec2(region).send(new DeleteSnapshotCommand({ SnapshotId: resource.id })),
        );
      } else if (ref.kind === 'rds-snapshot') {
        await call(`rds:Delete snapshot ${resource.id}`, () =>
          ref.cluster
            ? this.#rds(region).send(
                new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: resource.id }),
              )
            : this.#rds(region).send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: resource.id })),
        );
      } else {
        const vault = ref.vault ?? scope.vault ?? '';
        await call(`backup:DeleteRecoveryPoint ${resource.id}`, () =>
          this.#backup(region).send(
            new DeleteRecoveryPointCommand({ BackupVaultName: vault, RecoveryPointArn: resource.id }),
          ),
        );
        // A deletion the role may not make answers 200 and leaves the point EXPIRED (AWS Backup
        // API reference, DeleteRecoveryPoint): the point counts as deleted only once it is gone.
        const after = await this.#describePoint(vault, resource.id, region);
        if (after !== undefined && after !== 'DELETING') {
          throw new SnapshotFailedError(
            `backup:DeleteRecoveryPoint of ${resource.id} answered, but the point is ${after}: not deleted ` +
              '(AWS Backup leaves a point EXPIRED when the role may not delete it; check the prune role)',
          );
        }
      }
    }
  }

  /** The status of a recovery point in a vault; `undefined` once it no longer exists. */
  async #describePoint(vault: string, arn: string, region: string): Promise<string | undefined> {
    try {
      const output = await this.#backup(region).send(
        new DescribeRecoveryPointCommand({ BackupVaultName: vault, RecoveryPointArn: arn }),
      );
      return output.Status ?? 'UNKNOWN';
    } catch (error) {
      if (isThrottling(error))
        throw new BackupThrottledError(`backup:DescribeRecoveryPoint was throttled: ${describe(error)}`);
      if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw new SnapshotFailedError(`backup:DescribeRecoveryPoint of ${arn} failed: ${describe(error)}`);
    }
  }
}

/**
 * Whether a recovery point is one AWS Backup fully manages (an `arn:aws:backup:…:recovery-point:`
 * ARN, with AWS Backup tags) rather than an EC2 AMI or EBS snapshot (its own EC2 ARN, no AWS Backup
 * tags: ListTags refuses it, per the AWS Backup API reference).
 *
 * @example
 * isBackupManagedPoint('arn:aws:ec2:us-east-1::snapshot/snap-0123') // false
 */
export function isBackupManagedPoint(arn: string): boolean {
  return /^arn:aws[a-z-]*:backup:/.test(arn);
}
