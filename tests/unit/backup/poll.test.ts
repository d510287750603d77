/**
 * The backup long-poll with a fake clock: a snapshot stuck in `pending` returns `running` at the
 * end of each bounded poll (the workflow's Choice calls again) and fails once past its deadline; a
 * throttled status read counts as still running; an `error` snapshot fails at once.
 */
import { describe, expect, it } from 'vitest';
import type { JobHandle } from '../../../shared/backup/contracts.ts';
import type { BackupCapabilities, BackupDeps } from '../../../shared/backup/deps.ts';
import { BackupThrottledError } from '../../../shared/backup/errors.ts';
import { LONG_POLL_MAX_MS } from '../../../shared/backup/steps/common.ts';
import { pollBackupStep } from '../../../shared/backup/steps/poll-backup.ts';
import type { CopyService, CopyStatus, LeaseStore } from '../../../shared/drivers/ports.ts';

function depsWith(status: () => Promise<CopyStatus>, clock: { now: number }): BackupDeps & { reads: number } {
  const deps = {
    reads: 0,
    findTarget: () => ({ name: 'shop' }) as never,
    drivers: () =>
      ({
        copies: {
          status: async () => {
            deps.reads += 1;
            return status();
          },
        } as unknown as CopyService,
        leases: { acquire: async () => ({ acquired: true }) } as unknown as LeaseStore,
      }) as BackupCapabilities,
    fallbackNotifier: () => {
      throw new Error('unused');
    },
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.now += ms;
    },
  };
  return deps;
}

const handle = (deadline: number): JobHandle => ({
  target: 'shop',
  runId: 'r1',
  backup: 'volumes',
  kind: 'ebs-snapshot',
  startedAt: '2026-01-01T00:00:00.000Z',
  deadline,
  copy: { kind: 'ebs-snapshot', resources: [{ id: 'snap-1', region: 'eu-west-1' }] },
});

const pending: CopyStatus = { state: 'pending', resources: [], detail: 'snap-1 pending 10%' };

describe('pollBackupStep', () => {
  it('returns running after at most 50 s of a snapshot stuck in pending, within the Lambda time left', async () => {
    // Prepare
    const clock = { now: 0 };
    const deps = depsWith(async () => pending, clock);

    // Act
    const status = await pollBackupStep({ handle: handle(10 * 3600_000) }, deps, () => 85_000);

    // Assess
    expect(status).toMatchObject({ status: 'running', detail: 'snap-1 pending 10%' });
    expect(clock.now).toBeLessThanOrEqual(LONG_POLL_MAX_MS);
    expect(deps.reads).toBeGreaterThan(10);
    expect(status.polls).toBe(deps.reads);
  });

  it('keeps 10 s in hand when the Lambda has little time left', async () => {
    // Prepare
    const clock = { now: 0 };
    const deps = depsWith(async () => pending, clock);

    // Act
    await pollBackupStep({ handle: handle(10 * 3600_000) }, deps, () => 15_000);

    // Assess
    expect(clock.now).toBeLessThanOrEqual(5_000);
  });

  it('fails a snapshot still pending past its deadline', async () => {
    // Prepare
    const clock = { now: 1_000 };
    const deps = depsWith(async () => pending, clock);

    // Act
    const status = await pollBackupStep({ handle: handle(500) }, deps, () => 85_000);

    // Assess
    expect(status.status).toBe('failed');
    expect(status.detail).toBe('still not finished at its deadline: snap-1 pending 10%');
  });

  it('counts a throttled read as still running, and an error snapshot as failed at once', async () => {
    // Prepare
    const clock = { now: 0 };
    let calls = 0;
    const deps = depsWith(async () => {
      calls += 1;
      if (calls === 1) throw new BackupThrottledError('ec2:DescribeSnapshots was throttled');
      return { state: 'failed', resources: [], detail: 'snapshot snap-1 error: internal error' };
    }, clock);

    // Act
    const status = await pollBackupStep({ handle: handle(10 * 3600_000) }, deps, () => 85_000);

    // Assess
    expect(status).toMatchObject({
      status: 'failed',
      detail: 'snapshot snap-1 error: internal error',
      polls: 2,
    });
  });
});
