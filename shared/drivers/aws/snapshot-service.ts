/**
 * Snapshots before a deploy: EBS snapshots of the hosts' volumes, RDS snapshots of a database; and
 * the pre-deploy snapshots a retention no longer keeps, found and deleted by their tags.
 *
 * IAM: `ec2:CreateSnapshots`, `ec2:CreateTags` (on `snapshot/*`, for the tags at creation),
 * `rds:CreateDBSnapshot`, `rds:AddTagsToResource`; `ec2:DescribeSnapshots`,
 * `rds:DescribeDBSnapshots` (by DB instance); `ec2:DeleteSnapshot`, `rds:DeleteDBSnapshot` (on
 * snapshots tagged `stepops:target`).
 */
import {
  CreateSnapshotsCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateDBSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { SnapshotFailedError } from '../../errors.ts';
import type { HostRef, PreDeploySnapshot, SnapshotService } from '../ports.ts';
import { ec2Client } from './ec2-client.ts';
import { rdsClient } from './rds-client.ts';

/** Tag keys every stepops snapshot carries. */
export const SNAPSHOT_TAGS = { target: 'stepops:target', run: 'stepops:run', ref: 'stepops:ref' } as const;
/** The tag of a snapshot taken before a deploy. */
export const PRE_DEPLOY_TAG = { key: 'stepops:reason', value: 'pre-deploy' } as const;

/**
 * The tags of a stepops snapshot.
 *
 * @example
 * snapshotTags({ target: 'datizmo', runId: 'r-1', ref: 'v2' })
 * // { 'stepops:target': 'datizmo', 'stepops:run': 'r-1', 'stepops:ref': 'v2' }
 */
export function snapshotTags(run: { target: string; runId: string; ref?: string }): Record<string, string> {
  return {
    [SNAPSHOT_TAGS.target]: run.target,
    [SNAPSHOT_TAGS.run]: run.runId,
    ...(run.ref ? { [SNAPSHOT_TAGS.ref]: run.ref } : {}),
  };
}

/**
 * The identifier of a stepops RDS snapshot: `stepops-<target>-<yyyymmdd>-<hhmmss>` (UTC).
 *
 * @example
 * dbSnapshotIdentifier('datizmo', new Date('2026-03-01T02:03:04Z')) // 'stepops-datizmo-20260301-020304'
 */
export function dbSnapshotIdentifier(target: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
  const safeTarget = target
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return `stepops-${safeTarget || 'target'}-${stamp}`;
}

function asTagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function describe(error: unknown): string {
  const e = error as { name?: string; message?: string };
  return e.name && e.message ? `${e.name}: ${e.message}` : String(error);
}

export interface AwsSnapshotServiceOptions {
  ec2?: (region: string) => EC2Client;
  rds?: (region: string) => RDSClient;
  now?: () => Date;
}

/**
 * EBS snapshots with `CreateSnapshots` (every volume of each instance, boot volume included) and
 * RDS snapshots with `CreateDBSnapshot`, all tagged with target, run and ref.
 *
 * @example
 * const ids = await new AwsSnapshotService().snapshotVolumes(hosts, snapshotTags({ target: 'zmanim', runId, ref }));
 */
export class AwsSnapshotService implements SnapshotService {
  readonly #ec2: (region: string) => EC2Client;
  readonly #rds: (region: string) => RDSClient;
  readonly #now: () => Date;

  constructor(options: AwsSnapshotServiceOptions = {}) {
    this.#ec2 = options.ec2 ?? ec2Client;
    this.#rds = options.rds ?? rdsClient;
    this.#now = options.now ?? (() => new Date());
  }

  async snapshotVolumes(hosts: HostRef[], tags: Record<string, string>): Promise<string[]> {
    const ids: string[] = [];
    for (const host of hosts) {
      if (host.kind !== 'ec2')
        throw new SnapshotFailedError(`EBS snapshots need ec2 hosts; ${host.id} is local`);
      try {
        const output = await this.#ec2(host.region).send(
          new CreateSnapshotsCommand({
            InstanceSpecification: { InstanceId: host.id, ExcludeBootVolume: false },
            Description:
              `stepops ${tags[SNAPSHOT_TAGS.target] ?? ''} ${tags[SNAPSHOT_TAGS.ref] ?? ''}`.trim(),
            TagSpecifications: [{ ResourceType: 'snapshot', Tags: asTagList(tags) }],
            CopyTagsFromSource: 'volume',
          }),
        );
        for (const snapshot of output.Snapshots ?? []) if (snapshot.SnapshotId) ids.push(snapshot.SnapshotId);
      } catch (error) {
        throw new SnapshotFailedError(`could not snapshot the volumes of ${host.id}: ${describe(error)}`);
      }
    }
    return ids;
  }

  async listPreDeploy(request: {
    target: string;
    region: string;
    rdsInstance?: string;
  }): Promise<PreDeploySnapshot[]> {
    const found: PreDeploySnapshot[] = [];
    let token: string | undefined;
    do {
      const page = await this.#ec2(request.region).send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [
            { Name: `tag:${SNAPSHOT_TAGS.target}`, Values: [request.target] },
            { Name: `tag:${PRE_DEPLOY_TAG.key}`, Values: [PRE_DEPLOY_TAG.value] },
          ],
          ...(token ? { NextToken: token } : {}),
        }),
      );
      for (const snapshot of page.Snapshots ?? []) {
        if (!snapshot.SnapshotId) continue;
        const tags = Object.fromEntries((snapshot.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
        found.push({
          kind: 'ebs',
          id: snapshot.SnapshotId,
          region: request.region,
          ...(tags[SNAPSHOT_TAGS.run] ? { runId: tags[SNAPSHOT_TAGS.run] } : {}),
          tags,
          createdAt: (snapshot.StartTime ?? new Date(0)).toISOString(),
          state:
            snapshot.State === 'completed' ? 'completed' : snapshot.State === 'error' ? 'failed' : 'pending',
        });
      }
      token = page.NextToken;
    } while (token);
    if (!request.rdsInstance) return found;
    let marker: string | undefined;
    do {
      const page = await this.#rds(request.region).send(
        new DescribeDBSnapshotsCommand({
          DBInstanceIdentifier: request.rdsInstance,
          SnapshotType: 'manual',
          ...(marker ? { Marker: marker } : {}),
        }),
      );
      for (const snapshot of page.DBSnapshots ?? []) {
        const tags = Object.fromEntries((snapshot.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
        if (
          !snapshot.DBSnapshotIdentifier ||
          tags[SNAPSHOT_TAGS.target] !== request.target ||
          tags[PRE_DEPLOY_TAG.key] !== PRE_DEPLOY_TAG.value
        )
          continue;
        found.push({
          kind: 'rds',
          id: snapshot.DBSnapshotIdentifier,
          region: request.region,
          ...(tags[SNAPSHOT_TAGS.run] ? { runId: tags[SNAPSHOT_TAGS.run] } : {}),
          tags,
          createdAt: (snapshot.SnapshotCreateTime ?? new Date(0)).toISOString(),
          state:
            snapshot.Status === 'available'
              ? 'completed'
              : snapshot.Status === 'failed'
                ? 'failed'
                : 'pending',
        });
      }
      marker = page.Marker;
    } while (marker);
    return found;
  }

  async deletePreDeploy(snapshot: PreDeploySnapshot, target: string): Promise<void> {
    if (
      snapshot.tags[SNAPSHOT_TAGS.target] !== target ||
      snapshot.tags[PRE_DEPLOY_TAG.key] !== PRE_DEPLOY_TAG.value
    ) {
      throw new SnapshotFailedError(`${snapshot.id} is not a pre-deploy snapshot of ${target}: not deleted`);
    }
    if (snapshot.kind === 'ebs') {
      await this.#ec2(snapshot.region).send(new DeleteSnapshotCommand({ SnapshotId: snapshot.id }));
    } else {
      await this.#rds(snapshot.region).send(
        new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshot.id }),
      );
    }
  }

  async snapshotDatabase(region: string, dbInstance: string, tags: Record<string, string>): Promise<string> {
    const identifier = dbSnapshotIdentifier(tags[SNAPSHOT_TAGS.target] ?? dbInstance, this.#now());
    try {
      const output = await this.#rds(region).send(
        new CreateDBSnapshotCommand({
          DBInstanceIdentifier: dbInstance,
          DBSnapshotIdentifier: identifier,
          Tags: asTagList(tags),
        }),
      );
      return output.DBSnapshot?.DBSnapshotIdentifier ?? identifier;
    } catch (error) {
      throw new SnapshotFailedError(`could not snapshot the database ${dbInstance}: ${describe(error)}`);
    }
  }
}
