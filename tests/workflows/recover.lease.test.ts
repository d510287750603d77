/**
 * A recovery that waits for approval longer than its lease lasts (a lease is capped at 12 h, an
 * approval may wait 7 days) takes the lease again once approved: its steps never run without it,
 * and a run that took the target meanwhile ends this one, having changed nothing. On the local
 * engine with real parts: bash runs the step, file leases and approvals under a temporary home; the
 * lease's expiry during the wait is played by releasing it, as its expiry would free it.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTarget } from '../../shared/config/registry.ts';
import { BashCommandRunner } from '../../shared/drivers/local/bash-command-runner.ts';
import { EngineTaskAnswerer } from '../../shared/drivers/local/engine-task-answerer.ts';
import { FileApprovalStore } from '../../shared/drivers/local/file-approval-store.ts';
import { FileLeaseStore } from '../../shared/drivers/local/file-lease-store.ts';
import { LocalHostDirectory } from '../../shared/drivers/local/local-host-directory.ts';
import type { Lease } from '../../shared/drivers/ports.ts';
import { probeRunnerFor } from '../../shared/health/probe-runner.ts';
import { answerApproval } from '../../shared/recovery/approval.ts';
import { createLab, type Lab } from './fixtures.ts';
import { outbox, RECOVER_ARNS, recoverEngine } from './recover.fixtures.ts';

const TARGET = 'rc-lease';
const KEY = `target:${TARGET}`;
let lab: Lab;

beforeAll(async () => {
  lab = await createLab();
  await mkdir(lab.hostDir(TARGET), { recursive: true });
  registerTarget({
    name: TARGET,
    description: 'a destructive runbook that waits for approval',
    hosts: { type: 'local', directory: lab.hostDir(TARGET) },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [
        { name: 'app', type: 'http', url: `http://127.0.0.1:${lab.port}/health/${TARGET}`, timeout: 2 },
      ],
    },
    recovery: {
      wipe: {
        description: 'destructive',
        steps: [
          {
            type: 'script',
            name: 'wipe-data',
            script: 'echo wiped > marker\necho ok > state',
            timeout: 10,
            destructive: true,
          },
        ],
      },
    },
  });
});
afterAll(async () => {
  await lab.close();
});

/**
 * Runs the runbook; while it waits for approval, `meanwhile` plays what happens to the lease, then
 * it is approved. `held` gets the lease as it is when the approval is asked and when the step runs.
 */
async function runWith(meanwhile: (leases: FileLeaseStore, runId: string) => Promise<void>) {
  const held: { asking?: Lease | undefined; stepping?: Lease | undefined } = {};
  const home = await mkdtemp(path.join(tmpdir(), 'stepops-rc-lease-'));
  process.env.STEPOPS_HOME = home;
  await rm(path.join(lab.hostDir(TARGET), 'marker'), { force: true });
  await writeFile(path.join(lab.hostDir(TARGET), 'state'), 'down\n');
  const store = new FileApprovalStore({ home: () => home });
  const leases = new FileLeaseStore({ home: () => home });
  const { engine, tokens, handlers } = recoverEngine({
    home,
    commands: () => new BashCommandRunner(),
    hosts: () => new LocalHostDirectory(),
    probes: (t) => probeRunnerFor(t),
  });
  const runId = `rc-${Math.random().toString(36).slice(2, 10)}`;
  const runCommand = RECOVER_ARNS['run-recovery-command'];
  const result = await engine.start(
    { target: TARGET, runbook: 'wipe', reason: 'vitest', requestedBy: 'vitest' },
    {
      executionName: runId,
      handlerOverrides: {
        [runCommand]: async (event, context) => {
          held.stepping = await leases.holder(KEY);
          return handlers[runCommand]?.(event, context);
        },
      },
      onTaskToken: () => {
        void (async () => {
          held.asking = await leases.holder(KEY);
          await meanwhile(leases, runId);
          await answerApproval(
            { runId, decision: 'approved', by: 'vitest' },
            store,
            new EngineTaskAnswerer(tokens),
          );
        })();
      },
    },
  ).result;
  return { result, runId, leases, held, notifications: await outbox(home) };
}

describe('a recovery whose lease expired while it waited for approval', () => {
  it('takes the lease again once approved, runs its steps under it, and releases it at the end', async () => {
    // Act: the lease expires (is free) during the wait
    const { result, runId, leases, held } = await runWith(async (store, owner) => {
      await store.release(KEY, owner);
    });

    // Assess: the lease named the run's execution (the local engine's ARN, whose name is the run
    // id: health reads the local run record by it), taken first and taken again
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const execution = `arn:aws:states:local:000000000000:execution:stepops-recover:${runId}`;
    expect(held.asking).toMatchObject({ owner: runId, execution });
    expect(held.stepping).toMatchObject({ owner: runId, execution });
    const retaken = result.trace.events.find((e) => e.kind === 'state-exited' && e.state === 'RetakeLock');
    expect((retaken?.output as { lock?: { owner?: string } } | undefined)?.lock?.owner).toBe(runId);
    expect(existsSync(path.join(lab.hostDir(TARGET), 'marker'))).toBe(true);
    expect(await leases.holder(KEY)).toBeUndefined();
  });

  it('ends TargetLockedError, having changed nothing, when another run took the target meanwhile', async () => {
    // Act: the lease expires and another run takes the target before the approval comes
    const { result, leases, notifications } = await runWith(async (store, owner) => {
      await store.release(KEY, owner);
      await store.acquire(KEY, 'rc-lease-deploy-1', 3600);
    });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TargetLockedError');
    expect(result.cause).toContain('locked by run rc-lease-deploy-1');
    expect(existsSync(path.join(lab.hostDir(TARGET), 'marker'))).toBe(false);
    expect((await leases.holder(KEY))?.owner).toBe('rc-lease-deploy-1');
    expect(notifications.map((n) => n.outcome)).toEqual(['awaiting-approval', 'failed']);
  });
});
