/**
 * Every runbook of the five targets on the local engine: the command steps run for real in bash
 * (tools shimmed), the AWS steps against EC2, SSM, RDS and S3 mocked at the command level; the
 * approval is answered through the approval store, as `stepops approve` does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AssociateAddressCommand,
  AttachVolumeCommand,
  CreateVolumeCommand,
  DetachVolumeCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { RestoreDBInstanceFromDBSnapshotCommand } from '@aws-sdk/client-rds';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { findTarget } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import { Ec2HostDirectory } from '../../shared/drivers/aws/ec2-host-directory.ts';
import { Ec2InstanceOperations } from '../../shared/drivers/aws/ec2-instance-operations.ts';
import { RdsRestorer } from '../../shared/drivers/aws/rds-restorer.ts';
import { S3DumpLocator } from '../../shared/drivers/aws/s3-dump-locator.ts';
import { EngineTaskAnswerer } from '../../shared/drivers/local/engine-task-answerer.ts';
import { FileApprovalStore } from '../../shared/drivers/local/file-approval-store.ts';
import { FileBackupCatalogue } from '../../shared/drivers/local/file-backup-catalogue.ts';
import { answerApproval } from '../../shared/recovery/approval.ts';
import { CatalogueDumpLocator } from '../../shared/recovery/dumps.ts';
import { isDestructive, restoredDbIdentifier } from '../../shared/recovery/run.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import '../iam/record-calls.ts';
import { type FakeAws, fakeAws } from './aws-fakes.ts';
import {
  createHostSimulator,
  type HostSimulator,
  outbox,
  recordingProbes,
  recoverEngine,
} from './recover.fixtures.ts';

const TARGETS = ['datizmo', 'shop', 'docsai', 'zmanim', 'ai-chat'] as const;

let sim: HostSimulator;
let home: string | undefined;
let aws: FakeAws | undefined;

let forgetTargets: () => void;
beforeAll(async () => {
  // Restore-dump steps presign the dump's GET URL (signing is local: any key signs).
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAIOSFODNN7EXAMPLE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  sim = await createHostSimulator();
  // The real targets as a user runs them: with their unfilled(…) values filled in.
  forgetTargets = registerFilledTargets();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  forgetTargets();
  await sim.close();
});
afterEach(async () => {
  aws?.restore();
  aws = undefined;
  await rm(home as string, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  home = undefined;
});

function instanceIdOf(target: Target): string {
  if (target.hosts.type === 'ec2' && 'instanceIds' in target.hosts)
    return target.hosts.instanceIds[0] as string;
  return `i-0${target.name
    .replace(/[^a-z]/g, '')
    .slice(0, 6)
    .padEnd(6, 'a')}0000000000`.slice(0, 19);
}

/** The account as each target's runbooks need it: its instance, volumes, snapshots, image, address, DB, dumps. */
function accountFor(target: Target): FakeAws {
  const hosts = target.hosts.type === 'ec2' ? target.hosts : undefined;
  const tags = hosts && 'tags' in hosts ? hosts.tags : {};
  const id = instanceIdOf(target);
  const region = hosts?.region ?? 'us-east-1';
  const addresses: Record<string, string> = {};
  const dbs: Record<string, string> = {};
  const dumps: Record<string, string[]> = {};
  for (const runbook of Object.values(target.recovery ?? {})) {
    for (const step of runbook.steps) {
      if (step.type === 'replace-instance') addresses[step.elasticIpAllocationId] = '203.0.113.10';
      if (step.type === 'restore-rds') dbs[step.dbInstance] = `${step.dbInstance}.abc.rds.example`;
    }
  }
  for (const job of target.backup ?? []) {
    if (job.type !== 'dump') continue;
    const prefix = job.prefix.replace(/^\/+|\/+$/g, '');
    dumps[`${job.bucket}/${prefix ? `${prefix}/` : ''}${target.name}/${job.name}/`] = [
      '20260101T020000Z',
      '20260102T020000Z',
    ];
  }
  return fakeAws({
    instances: [
      {
        id,
        state: 'running',
        tags: { ...tags, Name: target.name },
        az: `${region}a`,
        volumes: [
          { device: '/dev/sda1', volumeId: 'vol-0root000000000001' },
          { device: '/dev/sdf', volumeId: 'vol-0data000000000001' },
        ],
      },
    ],
    snapshots: [{ id: 'snap-0aaaaaaaaaaaaaaa1', volumeId: 'vol-0root000000000001', target: target.name }],
    images: [{ id: 'ami-0fedcba9876543210', target: target.name }],
    addresses,
    dbs,
    dbSnapshots: [
      { id: 'rds:datizmo-db-2026-01-01-03-00', dbInstance: 'datizmo-db' },
      { id: 'stepops-datizmo-20260102-030000', dbInstance: 'datizmo-db', target: target.name },
    ],
    dumps,
  });
}

async function runRunbook(
  target: Target,
  runbook: string,
  options: { catalogue?: FileBackupCatalogue } = {},
) {
  const dir = home ?? (await mkdtemp(path.join(tmpdir(), 'stepops-recover-home-')));
  home = dir;
  process.env.STEPOPS_HOME = dir;
  const probes = recordingProbes();
  const store = new FileApprovalStore({ home: () => dir });
  const { engine, tokens } = recoverEngine({
    home: dir,
    commands: () => sim.runner,
    hosts: () => new Ec2HostDirectory(),
    probes: () => probes,
    instances: () => new Ec2InstanceOperations(),
    databases: () => new RdsRestorer(),
    dumps: () => (options.catalogue ? new CatalogueDumpLocator(options.catalogue) : new S3DumpLocator()),
  });
  const executionName = `run-${target.name}-${runbook}`;
  let approvalAsked = false;
  const result = await engine.start(
    { target: target.name, runbook, reason: 'vitest', requestedBy: 'vitest' },
    {
      executionName,
      // The replaced instance's retention (days) is waited out at once.
      waitTimeOverrides: { WaitRetention: 0 },
      onTaskToken: () => {
        approvalAsked = true;
        void answerApproval(
          { runId: executionName, decision: 'approved', by: 'vitest' },
          store,
          new EngineTaskAnswerer(tokens),
        );
      },
    },
  ).result;
  return { result, probes, approvalAsked, notifications: await outbox(dir) };
}

describe('every runbook of the five targets on the local engine', () => {
  const cases = TARGETS.flatMap((name) =>
    Object.keys(findTarget(name).recovery ?? {}).map((runbook) => [name, runbook] as const),
  );

  it.each(cases)(
    '%s %s: runs every step in order, asks approval when destructive, ends healthy',
    async (name, runbook) => {
      // Prepare
      const target = findTarget(name);
      aws = accountFor(target);
      const declared = target.recovery?.[runbook];
      const destructive = (declared?.destructive ?? false) || (declared?.steps ?? []).some(isDestructive);

      // Act
      const { result, probes, approvalAsked, notifications } = await runRunbook(target, runbook);

      // Assess
      expect(result.error ?? '', result.cause).toBe('');
      expect(result.status).toBe('SUCCEEDED');
      expect(approvalAsked).toBe(destructive);
      const entered = result.trace.events.filter((e) => e.kind === 'state-entered').map((e) => e.state);
      // Each state entered, then in order (a missing state would make indexOf -1 and pass).
      expect(entered).toEqual(
        expect.arrayContaining([
          'Preflight',
          'RunSteps',
          'VerifyHealth',
          ...(destructive ? ['AwaitApproval'] : []),
        ]),
      );
      expect(entered.indexOf('Preflight')).toBeLessThan(entered.indexOf('RunSteps'));
      if (destructive) expect(entered.indexOf('AwaitApproval')).toBeLessThan(entered.indexOf('RunSteps'));
      const expectedProbes = declared?.verify ?? (target.health?.probes ?? []).map((p) => p.name);
      expect(new Set(probes.ran)).toEqual(new Set(expectedProbes));
      expect(entered.lastIndexOf('VerifyHealth')).toBeGreaterThan(entered.lastIndexOf('RunSteps'));
      expect(notifications.map((n) => n.outcome)).toEqual(
        destructive ? ['awaiting-approval', 'succeeded'] : ['succeeded'],
      );
    },
  );

  it('docsai restore-database restores the newest good dump the backup catalogue lists', async () => {
    // Prepare
    const target = findTarget('docsai');
    aws = accountFor(target);
    home = await mkdtemp(path.join(tmpdir(), 'stepops-recover-home-'));
    const dir = home;
    const catalogue = new FileBackupCatalogue({ home: () => dir });
    const entry = (runId: string, outcome: 'good' | 'failed', day: number) => ({
      target: 'docsai',
      backup: 'database',
      runId,
      kind: 'dump' as const,
      location: `s3://docsai-stepops-backups/docsai/database/2026010${day}T020000Z`,
      resources: [],
      startedAt: `2026-01-0${day}T02:00:00.000Z`,
      outcome,
    });
    await catalogue.put(entry('b1', 'good', 1));
    await catalogue.put(entry('b2', 'good', 2));
    await catalogue.put(entry('b3', 'failed', 3));
    const before = (await sim.calls()).length;

    // Act
    const { result } = await runRunbook(target, 'restore-database', { catalogue });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    // Downloaded with curl from a presigned GET URL (no AWS CLI), in the bucket's region.
    const calls = (await sim.calls()).slice(before);
    expect(calls.filter((c) => c.startsWith('aws '))).toEqual([]);
    const downloads = calls.filter((c) => c.startsWith('curl ') && c.includes('.amazonaws.com/'));
    expect(downloads).toEqual([
      expect.stringContaining(
        'https://docsai-stepops-backups.s3.us-east-1.amazonaws.com/docsai/database/20260102T020000Z?',
      ),
    ]);
    expect(downloads[0]).toContain('X-Amz-Signature=');
    expect(calls).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^pg_restore .*--dbname .*\/stepops-restore\.\w+\/dump$/),
      ]),
    );
  });

  it('zmanim restart-api restarts the unit through systemctl on the host', async () => {
    // Prepare
    const target = findTarget('zmanim');
    aws = accountFor(target);
    const before = (await sim.calls()).length;

    // Act
    const { result } = await runRunbook(target, 'restart-api');

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const calls = (await sim.calls()).slice(before);
    expect(calls).toContain('systemctl restart -- zmanim-api');
    expect(calls).toContain('systemctl is-active --quiet -- zmanim-api');
  });

  it('zmanim instance-failure: launch, new instance ready, data volume and Elastic IP moved, services, then health', async () => {
    // Prepare
    const target = findTarget('zmanim');
    const fake = accountFor(target);
    aws = fake;
    const oldId = instanceIdOf(target);
    const before = (await sim.calls()).length;

    // Act
    const { result, probes } = await runRunbook(target, 'instance-failure');

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const order = fake.log.filter((c) =>
      ['RunInstances', 'StopInstances', 'DetachVolume', 'AttachVolume', 'AssociateAddress'].includes(c),
    );
    expect(order).toEqual([
      'RunInstances',
      'StopInstances',
      'DetachVolume',
      'AttachVolume',
      'AssociateAddress',
    ]);
    const run = fake.ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input as Record<string, unknown>;
    expect(run).toMatchObject({
      MinCount: 1,
      MaxCount: 1,
      ImageId: 'ami-0fedcba9876543210',
      InstanceType: 't3.small',
      SubnetId: 'subnet-0123456789abcdef0',
      SecurityGroupIds: ['sg-0123456789abcdef0'],
      IamInstanceProfile: { Arn: 'arn:aws:iam::123456789012:instance-profile/app' },
      KeyName: 'ops',
      ClientToken: 'stepops-run-zmanim-instance-failure-replace-instance',
    });
    const newId = [...fake.instances.keys()].find((id) => id !== oldId) as string;
    expect(fake.ec2.commandCalls(DetachVolumeCommand)[0]?.args[0].input).toEqual({
      VolumeId: 'vol-0data000000000001',
      InstanceId: oldId,
    });
    expect(fake.ec2.commandCalls(AttachVolumeCommand)[0]?.args[0].input).toEqual({
      VolumeId: 'vol-0data000000000001',
      InstanceId: newId,
      Device: '/dev/sdf',
    });
    expect(fake.ec2.commandCalls(AssociateAddressCommand)[0]?.args[0].input).toEqual({
      AllocationId: 'eipalloc-0a1b2c3d4e5f60718',
      InstanceId: newId,
      AllowReassociation: true,
    });
    // Stopped, out of the target, then terminated once the (skipped) retention had passed.
    expect(fake.log.indexOf('StopInstances')).toBeLessThan(fake.log.indexOf('TerminateInstances'));
    expect(fake.instances.get(oldId)?.state).toBe('terminated');
    expect(fake.instances.get(oldId)?.tags).not.toHaveProperty('stepops:target');
    expect(fake.instances.get(newId)?.tags).toMatchObject({ 'stepops:target': 'zmanim' });
    const calls = (await sim.calls()).slice(before);
    expect(calls).toContain('systemctl start postgresql redis zmanim-api');
    expect(probes.ran).toEqual(expect.arrayContaining(['services', 'data-disk', 'api-local', 'api-health']));
  });

  it('datizmo restore-database restores the newest stepops snapshot to a new instance and swaps the names', async () => {
    // Prepare
    const target = findTarget('datizmo');
    const fake = accountFor(target);
    aws = fake;

    // Act
    const { result } = await runRunbook(target, 'restore-database');

    // Assess
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    const newId = restoredDbIdentifier('datizmo-db', 'run-datizmo-restore-database');
    expect(fake.rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0]?.args[0].input).toEqual({
      DBSnapshotIdentifier: 'stepops-datizmo-20260102-030000',
      DBInstanceIdentifier: newId,
      DBInstanceClass: 'db.t3.small',
      DBSubnetGroupName: 'app-db',
      VpcSecurityGroupIds: ['sg-0db0000000000000a'],
      DBParameterGroupName: 'default.postgres14',
      MultiAZ: false,
      // The production instance's port, kept (RDS would give the engine's default).
      Port: 5432,
      Tags: [
        { Key: 'stepops:target', Value: 'datizmo' },
        { Key: 'stepops:run', Value: 'run-datizmo-restore-database' },
      ],
    });
    expect(fake.dbs.get('datizmo-db')?.endpoint).toBe(`${newId}.rds.example`);
  });

  it('ai-chat restore-from-snapshot swaps the root volume for one from the newest snapshot', async () => {
    // Prepare
    const target = findTarget('ai-chat');
    const fake = accountFor(target);
    aws = fake;

    // Act
    const { result } = await runRunbook(target, 'restore-from-snapshot');

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(fake.ec2.commandCalls(CreateVolumeCommand)[0]?.args[0].input).toEqual({
      SnapshotId: 'snap-0aaaaaaaaaaaaaaa1',
      AvailabilityZone: `${target.hosts.type === 'ec2' ? target.hosts.region : ''}a`,
      VolumeType: 'gp3',
      TagSpecifications: [
        {
          ResourceType: 'volume',
          Tags: [
            { Key: 'stepops:target', Value: 'ai-chat' },
            { Key: 'stepops:run', Value: 'run-ai-chat-restore-from-snapshot' },
            // A retried call finds the volume by this tag instead of creating a second one.
            { Key: 'stepops:client-token', Value: 'run-ai-chat-restore-from-snapshot/restore-root-volume' },
          ],
        },
      ],
    });
    const attach = fake.ec2.commandCalls(AttachVolumeCommand)[0]?.args[0].input as { Device: string };
    expect(attach.Device).toBe('/dev/sda1');
    expect(fake.log).toEqual(
      expect.arrayContaining(['StopInstances', 'DetachVolume', 'AttachVolume', 'StartInstances']),
    );
    expect(fake.log.indexOf('StopInstances')).toBeLessThan(fake.log.indexOf('DetachVolume'));
    expect(fake.log.lastIndexOf('StartInstances')).toBeGreaterThan(fake.log.indexOf('AttachVolume'));
  });
});
