/**
 * A deploy aborted on the local engine (Ctrl-C, SIGTERM) ends without reaching Notify, the state
 * that releases the lease: the CLI then releases it (`releaseAbortedLock`). ClaimHosts takes the
 * lease and then resolves the hosts in one state, so a run stopped while it resolves has not
 * recorded the lease in its state yet: the release must find it all the same, and must never
 * touch a lease another run holds.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { releaseAbortedLock } from '../../cli/runs/engine.ts';
import { createLocalDeployEngine, LOCAL_DEPLOY_ARNS } from '../../functions/index.ts';
import { clearRegisteredTargets, findTarget } from '../../shared/config/registry.ts';
import type { ClaimHostsInput } from '../../shared/deploy/contracts.ts';
import { defaultDeployDeps } from '../../shared/deploy/deps.ts';
import { claimHostsStep } from '../../shared/deploy/steps/claim-hosts.ts';
import { FileLeaseStore } from '../../shared/drivers/local/file-lease-store.ts';
import { LocalHostDirectory } from '../../shared/drivers/local/local-host-directory.ts';
import type { LambdaHandler, LocalEngine, RunResult } from '../../shared/engine/index.ts';
import { targetLeaseKey } from '../../shared/lease-keys.ts';
import { createLab, type Lab } from './fixtures.ts';

let lab: Lab;
let engine: LocalEngine;

beforeAll(async () => {
  lab = await createLab();
  engine = createLocalDeployEngine();
});
afterAll(async () => {
  clearRegisteredTargets();
  await lab?.close();
});

/** A gate a handler waits at: `reached` once it got there, `open()` lets it go on. */
function gate(): { reached: Promise<void>; wait: () => Promise<void>; open: () => void } {
  let arrive!: () => void;
  let leave!: () => void;
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const opened = new Promise<void>((resolve) => {
    leave = resolve;
  });
  return {
    reached,
    wait: () => {
      arrive();
      return opened;
    },
    open: () => leave(),
  };
}

/** The real claim-hosts step, whose host directory waits at the gate once the lease is taken. */
function claimWaitingAt(at: ReturnType<typeof gate>): LambdaHandler {
  const real = defaultDeployDeps();
  const directory = new LocalHostDirectory();
  const deps = {
    ...real,
    driversFor: (target: Parameters<typeof real.driversFor>[0]) => ({
      ...real.driversFor(target),
      hosts: {
        resolve: async (selector: Parameters<LocalHostDirectory['resolve']>[0]) => {
          await at.wait();
          return directory.resolve(selector);
        },
      },
    }),
  };
  return (async (event: ClaimHostsInput) => claimHostsStep(event, deps)) as LambdaHandler;
}

/** What the CLI printed. */
function capture(): { out: (t: string) => void; err: (t: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { out: (t) => lines.push(t), err: (t) => lines.push(`error: ${t}`), lines };
}

describe('a deploy aborted on the local engine', () => {
  it('releases the lease when stopped inside ClaimHosts, after the lease was taken and before the hosts were resolved', async () => {
    // Prepare: the run waits in ClaimHosts, the lease taken
    const name = await lab.target('abort-claim', {
      steps: ['echo "$STEPOPS_REF" > version'],
      rollback: ['true'],
    });
    const leases = new FileLeaseStore();
    const at = gate();
    const execution = engine.start(
      { target: name, ref: 'v2' },
      {
        executionName: 'run-abort-claim',
        handlerOverrides: { [LOCAL_DEPLOY_ARNS['claim-hosts']]: claimWaitingAt(at) },
      },
    );
    await at.reached;
    expect((await leases.holder(targetLeaseKey(name)))?.owner).toBe('run-abort-claim');

    // Act
    execution.abort();
    const result: RunResult = await execution.result;
    const out = capture();
    await releaseAbortedLock(findTarget(name), result, out);
    at.open();

    // Assess: no state recorded the lease, and it is free all the same
    expect(result.error).toBe('States.Aborted');
    expect(result.trace.events.some((e) => e.kind === 'state-exited' && e.state === 'ClaimHosts')).toBe(
      false,
    );
    expect(await leases.holder(targetLeaseKey(name))).toBeUndefined();
    expect(out.lines).toEqual([
      `run aborted: released the lease target:${name}; a command already sent may still be running on the hosts`,
    ]);
  });

  it('releases the lease ClaimHosts recorded with the hosts when stopped in a batch', async () => {
    // Prepare: the deploy command runs until the run is stopped
    const name = await lab.target('abort-batch', { steps: ['sleep 5'], rollback: ['true'] });
    const leases = new FileLeaseStore();
    const execution = engine.start({ target: name, ref: 'v2' }, { executionName: 'run-abort-batch' });
    for await (const event of execution.events)
      if (event.kind === 'state-entered' && event.state === 'WaitForDeploy') break;

    // Act
    execution.abort();
    const result = await execution.result;
    const out = capture();
    await releaseAbortedLock(findTarget(name), result, out);

    // Assess: the lease is the one ClaimHosts put beside the hosts, and is free now
    const claimed = result.trace.events.find((e) => e.kind === 'state-exited' && e.state === 'ClaimHosts');
    expect(claimed?.output).toMatchObject({
      hosts: { lock: { key: targetLeaseKey(name), owner: 'run-abort-batch' }, batchCount: 1 },
    });
    expect(result.error).toBe('States.Aborted');
    expect(await leases.holder(targetLeaseKey(name))).toBeUndefined();
    expect(out.lines).toEqual([expect.stringContaining(`run aborted: released the lease target:${name}`)]);
  });

  it("leaves another run's lease alone when stopped before it took the lease", async () => {
    // Prepare: another run holds the lease; this one waits in ClaimHosts' place, before any lease
    const name = await lab.target('abort-other', { steps: ['true'], rollback: ['true'] });
    const leases = new FileLeaseStore();
    expect((await leases.acquire(targetLeaseKey(name), 'other-run', 600)).acquired).toBe(true);
    const at = gate();
    const waiting: LambdaHandler = async () => {
      await at.wait();
      return {};
    };
    const execution = engine.start(
      { target: name, ref: 'v2' },
      { executionName: 'run-abort-other', handlerOverrides: { [LOCAL_DEPLOY_ARNS['claim-hosts']]: waiting } },
    );
    await at.reached;

    // Act
    execution.abort();
    const result = await execution.result;
    const out = capture();
    await releaseAbortedLock(findTarget(name), result, out);
    at.open();

    // Assess
    expect(result.error).toBe('States.Aborted');
    expect((await leases.holder(targetLeaseKey(name)))?.owner).toBe('other-run');
    expect(out.lines).toEqual([]);
  });
});
