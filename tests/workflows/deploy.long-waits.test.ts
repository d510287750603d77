/**
 * The longest wait the deploy workflow allows, on the local engine with the real poll step and a
 * simulated clock: one batch whose command runs for almost the whole lease a deploy may hold (its
 * run is refused beyond it). Step Functions fails a Standard execution whose history passes 25,000
 * events; the engine counts them as AWS writes them.
 */
import { describe, expect, it } from 'vitest';
import { LOCAL_DEPLOY_ARNS } from '../../functions/index.ts';
import type { Target } from '../../shared/config/schema.ts';
import { MAX_LEASE_SECONDS } from '../../shared/deploy/bounds.ts';
import { type CommandSent, commandStatusSchema } from '../../shared/deploy/contracts.ts';
import type { DeployDeps } from '../../shared/deploy/deps.ts';
import { pollCommandStep } from '../../shared/deploy/steps/poll-command.ts';
import type { CommandRunner, HostRef } from '../../shared/drivers/ports.ts';
import { createLocalEngine, type LambdaHandler } from '../../shared/engine/index.ts';
import { DEPLOY_FUNCTIONS, type DeployFunction, deployWorkflow } from '../../workflows/deploy.ts';

const START = Date.parse('2026-03-01T02:00:00Z');
const HOST: HostRef = { kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' };
const TARGET = { name: 'web', hosts: { type: 'ec2', region: 'eu-west-1' } } as unknown as Target;

function engineFor(commandMs: number) {
  let clock = START;
  let asked = 0;
  const runner: CommandRunner = {
    statusPaceMs: 2_000,
    send: async () => ({ commandId: 'cmd-1', hosts: [HOST] }),
    status: async () => [
      clock - START >= commandMs
        ? { hostId: HOST.id, state: 'succeeded', exitCode: 0, outputTail: 'built\n' }
        : { hostId: HOST.id, state: 'running', outputTail: '' },
    ],
  };
  const deps = {
    findTarget: () => TARGET,
    driversFor: () => ({ commands: runner }),
    fallbackNotifier: () => {
      throw new Error('not used');
    },
    now: () => clock,
    sleep: async (ms: number) => {
      clock += ms;
    },
  } as unknown as DeployDeps;
  const stub = (fn: DeployFunction): LambdaHandler => {
    switch (fn) {
      case 'plan-deploy':
        return async () => ({
          target: 'web',
          ref: 'v2',
          runId: 'long-run',
          lockTtlSeconds: MAX_LEASE_SECONDS,
          batchSize: 1,
          verify: false,
          snapshot: { enabled: false },
          maxErrors: 0,
          healthGate: { probes: [], timeoutSeconds: 60, intervalSeconds: 5, successes: 1 },
          loadBalancer: false,
        });
      case 'claim-hosts':
        return async () => ({
          hosts: [HOST],
          batches: [{ index: 0, hosts: [HOST], offset: 0, hostCount: 1 }],
          lock: { key: 'target:web', owner: 'long-run', expiresAt: START / 1000 + MAX_LEASE_SECONDS },
        });
      case 'send-command':
        return async () =>
          ({
            commandId: 'cmd-1',
            phase: 'deploy',
            hosts: [HOST],
            sentAt: new Date(START).toISOString(),
            deadline: new Date(START + MAX_LEASE_SECONDS * 1000).toISOString(),
          }) satisfies CommandSent;
      case 'poll-command':
        return async (event) => {
          clock += asked * 1000; // the Wait the workflow just did, as the poll asked
          const status = await pollCommandStep(event as never, deps, () => 85_000);
          asked = status.waitSeconds ?? 0;
          return commandStatusSchema.parse(status);
        };
      case 'check-health':
        return async () => ({ status: 'healthy', consecutive: 1, rounds: 1 });
      case 'notify':
        return async () => ({ outcome: 'succeeded', summary: 'deployed' });
      default:
        return async () => ({});
    }
  };
  const handlers = Object.fromEntries(DEPLOY_FUNCTIONS.map((fn) => [LOCAL_DEPLOY_ARNS[fn], stub(fn)]));
  const engine = createLocalEngine(deployWorkflow(LOCAL_DEPLOY_ARNS), handlers);
  return {
    run: () =>
      engine.start(
        { target: 'web', ref: 'v2' },
        {
          waitTimeOverrides: { WaitBeforeDeployPoll: 0, WaitBeforeVerifyPoll: 0, WaitBeforeRollbackPoll: 0 },
        },
      ).result,
    elapsed: () => clock - START,
  };
}

describe('the deploy workflow’s longest wait stays far below 25,000 history events', () => {
  it('a command that runs for almost the whole lease (12 h): under 2,000 events', async () => {
    // Prepare
    const commandMs = MAX_LEASE_SECONDS * 1000 - 30 * 60_000;
    const { run, elapsed } = engineFor(commandMs);

    // Act
    const result = await run();

    // Assess: a Wait-less loop (a read every 50 s) wrote 6,359 events here
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(elapsed()).toBeGreaterThanOrEqual(commandMs);
    expect(result.historyEvents).toBeLessThan(2_000);
  });
});
