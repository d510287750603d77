/**
 * The longest waits the backup workflow allows, run on the local engine with the real poll steps
 * and a simulated clock: a 24-hour EBS snapshot (the deadline of an EBS job), three of them at once
 * (a target with `backupOptions.parallel`), and an RDS restore test that takes 5 hours. Step
 * Functions fails a Standard execution whose history passes 25,000 events; the engine counts them
 * as AWS writes them, and each run must stay far below that.
 */
import { describe, expect, it } from 'vitest';
import { LOCAL_BACKUP_ARNS } from '../../functions/index.ts';
import {
  type JobHandle,
  jobStatusSchema,
  type RestoreHandle,
  restoreStatusSchema,
} from '../../shared/backup/contracts.ts';
import type { BackupCapabilities, BackupDeps } from '../../shared/backup/deps.ts';
import { pollBackupStep } from '../../shared/backup/steps/poll-backup.ts';
import { pollRestoreTestStep } from '../../shared/backup/steps/poll-restore-test.ts';
import type { Target } from '../../shared/config/schema.ts';
import type { CopyService, ScratchDatabases } from '../../shared/drivers/ports.ts';
import { createLocalEngine, type LambdaHandler } from '../../shared/engine/index.ts';
import { BACKUP_FUNCTIONS, type BackupFunction, backupWorkflow } from '../../workflows/backup.ts';
import { grantedLeases } from '../helpers/leases.ts';

const START = Date.parse('2026-03-01T02:00:00Z');
const HOUR = 3_600_000;
const REGION = 'eu-west-1';
const TARGET = { name: 'shop', hosts: { type: 'ec2', region: REGION } } as unknown as Target;

/** One simulated clock per job (Map iterations run side by side, each at its own pace). */
function clocks() {
  const now = new Map<string, number>();
  const lastWait = new Map<string, number>();
  return {
    now: (job: string) => now.get(job) ?? START,
    advance: (job: string, ms: number) => now.set(job, (now.get(job) ?? START) + ms),
    /** The Wait the workflow just did, as the poll asked (the engine's Waits are overridden to 0). */
    waited(job: string) {
      this.advance(job, (lastWait.get(job) ?? 0) * 1000);
      lastWait.delete(job);
    },
    asked: (job: string, seconds: number | undefined) => lastWait.set(job, seconds ?? 0),
  };
}

function depsFor(
  job: string,
  clock: ReturnType<typeof clocks>,
  drivers: Partial<BackupCapabilities>,
): BackupDeps {
  return {
    findTarget: () => TARGET,
    drivers: () => ({ leases: grantedLeases, ...drivers }) as BackupCapabilities,
    fallbackNotifier: () => {
      throw new Error('not used');
    },
    now: () => clock.now(job),
    sleep: async (ms) => {
      clock.advance(job, ms);
    },
  };
}

/** Every function a stub, except the poll steps: the real ones, on the simulated clock. */
function engineFor(jobs: string[], copyDoneAfterMs: number, restoreDoneAfterMs: number) {
  const clock = clocks();
  const copies = (job: string): CopyService => ({
    start: async () => ({ kind: 'ebs-snapshot', resources: [] }),
    status: async () => {
      const done = clock.now(job) - START >= copyDoneAfterMs;
      return {
        state: done ? 'completed' : 'pending',
        resources: [{ id: `snap-${job}`, region: REGION }],
        detail: `snap-${job} ${done ? 'completed' : 'pending'}`,
      };
    },
    listTagged: async () => [],
    remove: async () => undefined,
  });
  let deleted = false;
  const scratch = (job: string): ScratchDatabases =>
    ({
      restore: async () => ({ region: REGION, id: 'stepops-rt' }),
      status: async () =>
        deleted
          ? { status: 'missing' }
          : clock.now(job) - START >= restoreDoneAfterMs
            ? { status: 'available', endpoint: 'rt:5432' }
            : { status: 'creating' },
      remove: async () => {
        deleted = true;
      },
    }) as unknown as ScratchDatabases;
  const stub = (fn: BackupFunction): LambdaHandler => {
    switch (fn) {
      case 'plan-backup':
        return async (event) => {
          const { input } = event as { input: { task?: string } };
          return {
            target: 'shop',
            runId: 'long-run',
            task: input.task ?? 'backup',
            dryRun: false,
            parallel: jobs.length > 1,
            maxConcurrency: jobs.length > 1 ? 0 : 1,
            jobs: jobs.map((name) => ({
              name,
              type: input.task === 'restore-test' ? 'rds-snapshot' : 'ebs-snapshot',
            })),
          };
        };
      case 'start-backup':
        return async (event) => {
          const { job } = event as { job: { name: string } };
          return {
            target: 'shop',
            runId: 'long-run',
            backup: job.name,
            kind: 'ebs-snapshot',
            startedAt: new Date(START).toISOString(),
            deadline: START + 24 * HOUR,
            copy: { kind: 'ebs-snapshot', resources: [{ id: `snap-${job.name}`, region: REGION }] },
          } satisfies JobHandle;
        };
      case 'poll-backup':
        return async (event) => {
          const { handle } = event as { handle: JobHandle };
          clock.waited(handle.backup);
          const status = await pollBackupStep(
            { handle },
            depsFor(handle.backup, clock, { copies: copies(handle.backup) }),
            () => 85_000,
          );
          clock.asked(handle.backup, status.waitSeconds);
          return jobStatusSchema.parse(status);
        };
      case 'start-restore-test':
        return async (event) => {
          const { job } = event as { job: { name: string } };
          return {
            target: 'shop',
            runId: 'long-run',
            backup: job.name,
            kind: 'rds-snapshot',
            copyRunId: 'nightly',
            startedAt: new Date(START).toISOString(),
            deadline: START + 6 * HOUR,
            instance: { region: REGION, id: 'stepops-rt' },
            phase: 'restoring',
          } satisfies RestoreHandle;
        };
      case 'poll-restore-test':
        return async (event) => {
          const { handle } = event as { handle: RestoreHandle };
          clock.waited(handle.backup);
          const status = await pollRestoreTestStep(
            { handle },
            depsFor(handle.backup, clock, { scratch: scratch(handle.backup) }),
            () => 85_000,
          );
          clock.asked(handle.backup, status.waitSeconds);
          return restoreStatusSchema.parse(status);
        };
      case 'record-backup':
        return async (event) => {
          const { attempt, job } = event as {
            attempt: { status?: { status: string; detail: string } };
            job: { name: string };
          };
          const good = attempt.status?.status === 'completed';
          return {
            backup: job.name,
            outcome: good ? 'good' : 'failed',
            location: 'ec2:snap',
            detail: attempt.status?.detail ?? '',
          };
        };
      case 'record-restore-test':
        return async (event) => {
          const { attempt, job } = event as {
            attempt: { status?: { status: string; detail: string } };
            job: { name: string };
          };
          return {
            backup: job.name,
            outcome: attempt.status?.status === 'passed' ? 'passed' : 'failed',
            detail: attempt.status?.detail ?? '',
          };
        };
      case 'prune-backups':
        return async () => ({ deleted: [] });
      case 'notify-backup':
        return async (event) => {
          const { run } = event as { run: { results?: { outcome: string }[] } };
          const ok = (run.results ?? []).every((r) => r.outcome === 'good' || r.outcome === 'passed');
          return ok
            ? { outcome: 'succeeded', summary: 'ok' }
            : { outcome: 'failed', error: 'BackupFailedError', summary: 'failed' };
        };
      default:
        return async () => ({});
    }
  };
  const handlers = Object.fromEntries(BACKUP_FUNCTIONS.map((fn) => [LOCAL_BACKUP_ARNS[fn], stub(fn)]));
  const engine = createLocalEngine(backupWorkflow(LOCAL_BACKUP_ARNS), handlers);
  const noWaits = { WaitBeforePoll: 0, WaitBeforeRestorePoll: 0 };
  return {
    run: (input: object) => engine.start(input, { waitTimeOverrides: noWaits }).result,
    clock,
  };
}

describe('the backup workflow’s longest waits stay far below 25,000 history events', () => {
  it('a 24-hour EBS snapshot: about 170 reads, under 2,000 events', async () => {
    // Prepare: the snapshot completes a minute before its 24-hour deadline
    const { run, clock } = engineFor(['volumes'], 24 * HOUR - 60_000, 0);

    // Act
    const result = await run({ target: 'shop' });

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(clock.now('volumes') - START).toBeGreaterThanOrEqual(24 * HOUR - 60_000);
    expect(result.historyEvents).toBeLessThan(2_000);
    const polls = result.trace.events.filter((e) => e.kind === 'state-entered' && e.state === 'WaitForJob');
    expect(polls.length).toBeLessThan(200);
  });

  it('three 24-hour EBS snapshots at once (backupOptions.parallel) stay under 6,000 events', async () => {
    // Prepare
    const { run } = engineFor(['root', 'data', 'logs'], 24 * HOUR - 60_000, 0);

    // Act
    const result = await run({ target: 'shop' });

    // Assess: a Wait-less poll loop (one read every 50 s) wrote over 36,000 events here and failed
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(result.historyEvents).toBeLessThan(6_000);
  });

  it('an RDS restore test of 5 hours stays under 1,500 events', async () => {
    // Prepare
    const { run, clock } = engineFor(['database'], 0, 5 * HOUR);

    // Act
    const result = await run({ target: 'shop', task: 'restore-test' });

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(clock.now('database') - START).toBeGreaterThanOrEqual(5 * HOUR);
    expect(result.historyEvents).toBeLessThan(1_500);
  });
});
