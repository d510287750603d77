/**
 * The copy services' own guard before a delete: a resource is deleted only when it carries the
 * job's `stepops:target` and `stepops:backup` tags AND `stepops:run` = the run whose row names it.
 * A catalogue row naming another run's snapshot (or a snapshot without a run tag) deletes nothing.
 * And a local directory snapshot left `pending` by a killed process reads `failed`.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteSnapshotCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NotStepopsCopyError } from '../../../shared/backup/errors.ts';
import { AwsCopyService } from '../../../shared/drivers/aws/aws-copy-service.ts';
import { LocalCopyService } from '../../../shared/drivers/local/local-copy-service.ts';
import type { CopyScope } from '../../../shared/drivers/ports.ts';

const ec2 = mockClient(EC2Client);
process.env.AWS_ACCESS_KEY_ID ??= 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY ??= 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const SCOPE: CopyScope = { kind: 'ebs-snapshot', target: 'shop', backup: 'volumes', region: 'eu-west-1' };
const tags = (run?: string) => [
  { Key: 'stepops:target', Value: 'shop' },
  { Key: 'stepops:backup', Value: 'volumes' },
  ...(run ? [{ Key: 'stepops:run', Value: run }] : []),
];

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-remove-guard-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  ec2.reset();
});

describe('AwsCopyService.remove', () => {
  // DescribeSnapshots (Amazon EC2 API Reference): the `tag:<key>` filters return the snapshots
  // carrying the target and backup tags, whatever their other tags; the run tag is read from `Tags`.
  beforeEach(() => {
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-run-1', State: 'completed', Tags: tags('run-1') },
        { SnapshotId: 'snap-run-2', State: 'completed', Tags: tags('run-2') },
        { SnapshotId: 'snap-foreign', State: 'completed', Tags: tags() },
      ],
    });
    ec2.on(DeleteSnapshotCommand).resolves({});
  });

  it('deletes the snapshots that carry the run tag of the row', async () => {
    // Act
    await new AwsCopyService().remove(
      { kind: 'ebs-snapshot', resources: [{ id: 'snap-run-1', region: 'eu-west-1' }] },
      SCOPE,
      'run-1',
    );

    // Assess
    expect(ec2).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-run-1' });
  });

  it.each([
    ['another run', 'snap-run-2'],
    ['no run tag', 'snap-foreign'],
  ])('refuses a row naming a snapshot of %s, deleting none of the row', async (_what, id) => {
    // Act
    const removal = new AwsCopyService().remove(
      {
        kind: 'ebs-snapshot',
        resources: [
          { id: 'snap-run-1', region: 'eu-west-1' },
          { id, region: 'eu-west-1' },
        ],
      },
      SCOPE,
      'run-1',
    );

    // Assess
    await expect(removal).rejects.toBeInstanceOf(NotStepopsCopyError);
    await expect(removal).rejects.toThrow(`${id} does not carry the tags`);
    expect(ec2).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 0);
  });
});

describe('LocalCopyService', () => {
  async function snapshot(home: string, run: string, state: Record<string, unknown>): Promise<string> {
    const dir = path.join(home, 'snapshots', 'shop', 'volumes', run);
    await mkdir(path.join(dir, 'host-0'), { recursive: true });
    await writeFile(
      path.join(dir, 'tags.json'),
      JSON.stringify({ 'stepops:target': 'shop', 'stepops:backup': 'volumes', 'stepops:run': run }),
    );
    await writeFile(path.join(dir, 'state.json'), JSON.stringify(state));
    return path.join(dir, 'host-0');
  }

  it("refuses to delete another run's directory, and deletes the row's own", async () => {
    // Prepare
    const home = await mkdtemp(path.join(root, 'home-'));
    const completed = { state: 'completed', detail: 'copied', createdAt: new Date().toISOString() };
    const own = await snapshot(home, 'run-1', completed);
    const other = await snapshot(home, 'run-2', completed);
    const copies = new LocalCopyService({ home: () => home });

    // Act
    const refused = copies.remove({ kind: 'ebs-snapshot', resources: [{ id: other }] }, SCOPE, 'run-1');
    await expect(refused).rejects.toBeInstanceOf(NotStepopsCopyError);
    await copies.remove({ kind: 'ebs-snapshot', resources: [{ id: own }] }, SCOPE, 'run-1');

    // Assess
    expect((await copies.listTagged(SCOPE)).map((c) => c.runId)).toEqual(['run-2']);
  });

  it('a copy left pending by a process that is gone reads failed; one whose process lives stays pending', async () => {
    // Prepare: the pid of a process that has exited, and this test's parent, which is alive
    const home = await mkdtemp(path.join(root, 'home-'));
    const gone = await new Promise<number>((resolve, reject) => {
      const child = spawn('true', [], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('exit', () => resolve(child.pid as number));
    });
    const createdAt = new Date().toISOString();
    const killed = await snapshot(home, 'run-killed', {
      state: 'pending',
      detail: 'copying',
      createdAt,
      pid: gone,
    });
    const busy = await snapshot(home, 'run-busy', {
      state: 'pending',
      detail: 'copying',
      createdAt,
      pid: process.ppid,
    });
    const copies = new LocalCopyService({ home: () => home });

    // Act
    const killedStatus = await copies.status({ kind: 'ebs-snapshot', resources: [{ id: killed }] });
    const busyStatus = await copies.status({ kind: 'ebs-snapshot', resources: [{ id: busy }] });
    const listed = await copies.listTagged(SCOPE);

    // Assess
    expect(killedStatus).toMatchObject({ state: 'failed' });
    expect(killedStatus.detail).toBe(`interrupted: the process copying it (pid ${gone}) is gone`);
    expect(busyStatus.state).toBe('pending');
    expect(Object.fromEntries(listed.map((c) => [c.runId, c.state]))).toEqual({
      'run-killed': 'failed',
      'run-busy': 'pending',
    });
  });

  it('a pending copy of the old format (no pid) is given up a day after it started', async () => {
    // Prepare
    const home = await mkdtemp(path.join(root, 'home-'));
    const stale = await snapshot(home, 'run-stale', {
      state: 'pending',
      detail: 'copying',
      createdAt: new Date(Date.now() - 25 * 3600_000).toISOString(),
    });
    const fresh = await snapshot(home, 'run-fresh', {
      state: 'pending',
      detail: 'copying',
      createdAt: new Date().toISOString(),
    });
    const copies = new LocalCopyService({ home: () => home });

    // Act
    const staleStatus = await copies.status({ kind: 'ebs-snapshot', resources: [{ id: stale }] });
    const freshStatus = await copies.status({ kind: 'ebs-snapshot', resources: [{ id: fresh }] });

    // Assess
    expect(staleStatus).toMatchObject({
      state: 'failed',
      detail: 'interrupted: still pending a day after it started',
    });
    expect(freshStatus.state).toBe('pending');
    expect(JSON.parse(await readFile(path.join(path.dirname(stale), 'state.json'), 'utf8')).state).toBe(
      'pending',
    );
  });
});
