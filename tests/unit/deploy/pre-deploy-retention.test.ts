/**
 * Pre-deploy snapshots are not kept for ever (datizmo takes one per deploy and would reach the
 * 100 manual DB snapshots RDS allows by default: RDS User Guide, "Quotas in Amazon RDS"). After a
 * deploy's own snapshots are taken, those of older deploys go, except the last `deploys` deploys
 * and any younger than `days`; only snapshots whose tags name the target, the run and the
 * pre-deploy reason are ever deleted. The expected sets are written here, not computed.
 */
import {
  CreateSnapshotsCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateDBSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import { type TargetInput, targetSchema } from '../../../shared/config/schema.ts';
import type { DeployDeps } from '../../../shared/deploy/deps.ts';
import { decidePreDeployPrune } from '../../../shared/deploy/pre-deploy-retention.ts';
import { createSnapshotsStep } from '../../../shared/deploy/steps/create-snapshots.ts';
import { AwsSnapshotService } from '../../../shared/drivers/aws/snapshot-service.ts';
import type { Drivers } from '../../../shared/drivers/index.ts';
import type { PreDeploySnapshot } from '../../../shared/drivers/ports.ts';

const NOW = new Date('2026-03-20T12:00:00Z');
const day = (n: number) => new Date(NOW.getTime() - n * 86_400_000).toISOString();

function snap(
  id: string,
  run: string,
  daysAgo: number,
  extra: Partial<PreDeploySnapshot> = {},
): PreDeploySnapshot {
  return {
    kind: id.startsWith('snap-') ? 'ebs' : 'rds',
    id,
    region: 'us-east-1',
    runId: run,
    tags: { 'stepops:target': 'app', 'stepops:run': run, 'stepops:reason': 'pre-deploy' },
    createdAt: day(daysAgo),
    state: 'completed',
    ...extra,
  };
}

describe('decidePreDeployPrune', () => {
  it('keeps the last 3 deploys and those younger than 7 days, deleting every snapshot of the others', () => {
    // Prepare: deploys 20, 15, 10, 9, 8 and 2 days ago, each with an EBS and an RDS snapshot
    const snapshots = [20, 15, 10, 9, 8, 2].flatMap((d) => [
      snap(`snap-${d}`, `run-${d}`, d),
      snap(`stepops-app-${d}`, `run-${d}`, d),
    ]);

    // Act
    const decision = decidePreDeployPrune(snapshots, 'app', { deploys: 3, days: 7 }, NOW);

    // Assess: kept are run-2 (young, newest), run-8 and run-9 (the last three deploys)
    expect(decision.delete.map((s) => s.id).sort()).toEqual(
      ['snap-10', 'snap-15', 'snap-20', 'stepops-app-10', 'stepops-app-15', 'stepops-app-20'].sort(),
    );
  });

  it('keeps every deploy younger than the days, even beyond the count', () => {
    // Prepare
    const snapshots = [1, 2, 3, 4, 30].map((d) => snap(`stepops-app-${d}`, `run-${d}`, d));

    // Act
    const decision = decidePreDeployPrune(snapshots, 'app', { deploys: 1, days: 7 }, NOW);

    // Assess
    expect(decision.delete.map((s) => s.id)).toEqual(['stepops-app-30']);
  });

  it("never deletes a snapshot still being taken, the newest completed one, or one whose tags are not stepops' pre-deploy tags", () => {
    // Prepare
    const snapshots = [
      snap('snap-old-pending', 'run-old', 40, { state: 'pending' }),
      snap('snap-foreign', 'run-f', 50, { tags: { 'stepops:target': 'app', 'stepops:run': 'run-f' } }),
      snap('snap-other-target', 'run-o', 50, {
        tags: { 'stepops:target': 'other', 'stepops:run': 'run-o', 'stepops:reason': 'pre-deploy' },
      }),
      snap('snap-only', 'run-only', 60),
    ];

    // Act
    const decision = decidePreDeployPrune(snapshots, 'app', { deploys: 1, days: 0 }, NOW);

    // Assess
    expect(decision.delete).toEqual([]);
  });
});

const ec2 = mockClient(EC2Client);
const rds = mockClient(RDSClient);

const target: TargetInput = {
  name: 'app',
  description: 'An app with snapshots before each deploy',
  hosts: { type: 'ec2', region: 'us-east-1', tags: { App: 'app' }, workingDirectory: '/opt/app' },
  deploy: {
    steps: [{ name: 'pull', script: 'git pull', timeout: 60 }],
    rollback: [{ name: 'back', script: 'git checkout -', timeout: 60 }],
    snapshotBeforeDeploy: { ebs: true, rdsInstance: 'app-db', retention: { deploys: 2, days: 7 } },
    healthGate: { probes: ['site'], timeout: 120, interval: 5, successes: 2 },
  },
  health: {
    schedule: 'rate(1 minute)',
    probes: [{ name: 'site', type: 'http', url: 'https://app.example.com/' }],
  },
} as unknown as TargetInput;

function deps(): DeployDeps {
  return {
    findTarget,
    driversFor: () =>
      ({
        snapshots: new AwsSnapshotService({
          ec2: () => new EC2Client({ region: 'us-east-1' }),
          rds: () => new RDSClient({ region: 'us-east-1' }),
          now: () => NOW,
        }),
      }) as unknown as Drivers,
    fallbackNotifier: () => {
      throw new Error('unused');
    },
    now: () => NOW.getTime(),
    sleep: async () => undefined,
  };
}

const tagList = (run: string) => [
  { Key: 'stepops:target', Value: 'app' },
  { Key: 'stepops:run', Value: run },
  { Key: 'stepops:reason', Value: 'pre-deploy' },
];

const savedEnv = { ...process.env };
beforeAll(() => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake';
  const parsed = targetSchema.safeParse(target);
  if (!parsed.success) throw new Error(JSON.stringify(parsed.error.issues));
  registerTarget(target);
});
afterAll(() => {
  clearRegisteredTargets();
  process.env = savedEnv;
});
beforeEach(() => {
  ec2.reset();
  rds.reset();
  ec2.on(CreateSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-new', State: 'pending' }] });
  rds.on(CreateDBSnapshotCommand).resolves({ DBSnapshot: { DBSnapshotIdentifier: 'stepops-app-new' } });
  // What the account holds: this run's snapshots (pending) and those of four older deploys.
  ec2.on(DescribeSnapshotsCommand).resolves({
    Snapshots: [
      { SnapshotId: 'snap-new', State: 'pending', StartTime: NOW, Tags: tagList('run-new') },
      ...[3, 10, 20, 30].map((d) => ({
        SnapshotId: `snap-${d}`,
        State: 'completed' as const,
        StartTime: new Date(day(d)),
        Tags: tagList(`run-${d}`),
      })),
    ],
  });
  rds.on(DescribeDBSnapshotsCommand).resolves({
    DBSnapshots: [
      {
        DBSnapshotIdentifier: 'stepops-app-new',
        Status: 'creating',
        SnapshotCreateTime: NOW,
        TagList: tagList('run-new'),
      },
      ...[3, 10, 20, 30].map((d) => ({
        DBSnapshotIdentifier: `stepops-app-${d}`,
        Status: 'available',
        SnapshotCreateTime: new Date(day(d)),
        TagList: tagList(`run-${d}`),
      })),
      // A manual snapshot someone took by hand: no stepops tags, never touched.
      {
        DBSnapshotIdentifier: 'before-upgrade',
        Status: 'available',
        SnapshotCreateTime: new Date(day(90)),
        TagList: [],
      },
    ],
  });
  ec2.on(DeleteSnapshotCommand).resolves({});
  rds.on(DeleteDBSnapshotCommand).resolves({});
});

const input = {
  target: 'app',
  ref: 'v2',
  runId: 'run-new',
  hosts: [{ kind: 'ec2' as const, id: 'i-0123456789abcdef0', region: 'us-east-1' }],
  snapshot: { enabled: true, ebs: true, rdsInstance: 'app-db' },
};

describe('createSnapshotsStep prunes older pre-deploy snapshots', () => {
  it('deletes the snapshots of deploys beyond the retention, listing RDS snapshots by DB instance', async () => {
    // Act
    const taken = await createSnapshotsStep(input, deps());

    // Assess: kept are this run (pending), run-3 (younger than 7 days, and with run-10 the last two completed)
    expect(taken).toMatchObject({ volumeSnapshotIds: ['snap-new'], dbSnapshotId: 'stepops-app-new' });
    expect(taken.pruned?.deleted.sort()).toEqual(['snap-20', 'snap-30', 'stepops-app-20', 'stepops-app-30']);
    expect(rds).toHaveReceivedCommandWith(DescribeDBSnapshotsCommand, {
      DBInstanceIdentifier: 'app-db',
      SnapshotType: 'manual',
    });
    expect(ec2).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 2);
    expect(rds).toHaveReceivedCommandTimes(DeleteDBSnapshotCommand, 2);
    expect(rds).not.toHaveReceivedCommandWith(DeleteDBSnapshotCommand, {
      DBSnapshotIdentifier: 'before-upgrade',
    });
  });

  it('a failing prune never fails the deploy: it is reported, and the snapshots of this run are returned', async () => {
    // Prepare
    rds.on(DeleteDBSnapshotCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));

    // Act
    const taken = await createSnapshotsStep(input, deps());

    // Assess
    expect(taken.volumeSnapshotIds).toEqual(['snap-new']);
    expect(taken.dbSnapshotId).toBe('stepops-app-new');
    expect(taken.pruned?.error).toContain('pruning the pre-deploy snapshots failed: denied');
  });

  it('validate gives the retention its defaults: the last 3 deploys and 7 days', () => {
    const parsed = targetSchema.parse({
      ...target,
      deploy: { ...target.deploy, snapshotBeforeDeploy: { rdsInstance: 'app-db' } },
    });
    expect(parsed.deploy?.snapshotBeforeDeploy?.retention).toEqual({ deploys: 3, days: 7 });
  });
});
