/**
 * A rolling runbook stopped by its operator, on the local engine: three local hosts behind the
 * local load balancer, one host per batch. The run is aborted while batch 1's script runs; the
 * invocation that runs it goes on (as a Lambda goes on after StopExecution), finishes batch 1 and
 * registers it back, then finds its run stopped (its run record, as the CLI writes it) and neither
 * drains nor runs anything on hosts 2 and 3.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordLocalRun } from '../../cli/runs/local.ts';
import { commandRunnerFor, hostDirectoryFor, probeRunnerFor } from '../../shared/all-drivers.ts';
import { registerTarget } from '../../shared/config/registry.ts';
import { LocalLoadBalancer } from '../../shared/drivers/local/local-load-balancer.ts';
import type { HostRef } from '../../shared/drivers/ports.ts';
import type { LambdaHandler } from '../../shared/engine/index.ts';
import { RECOVER_ARNS, recoverEngine } from './recover.fixtures.ts';

const GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/stop/0123456789abcdef';
const TARGET = 'rc-stop';

let root: string;
let home: string;
let hosts: HostRef[];
/** The hosts' directories, in the order of `hosts`. */
let dirs: string[];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-rc-stop-'));
  home = path.join(root, 'home');
  process.env.STEPOPS_HOME = home;
  dirs = ['web-1', 'web-2', 'web-3'].map((name) => path.join(root, name));
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  hosts = dirs.map((dir) => ({ kind: 'local', id: `local:${dir}`, directory: dir }));
  registerTarget({
    name: TARGET,
    description: 'three local hosts behind the local load balancer, restarted one at a time',
    hosts: { type: 'local', directory: dirs },
    deploy: {
      steps: [{ name: 'noop', script: 'true', timeout: 10 }],
      rollback: [{ name: 'noop', script: 'true', timeout: 10 }],
      healthGate: { probes: ['up'], timeout: 20, interval: 1, successes: 1 },
      loadBalancer: { targetGroups: [GROUP], drainTimeout: 30, healthyTimeout: 30 },
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [{ name: 'up', type: 'command', script: 'true', timeout: 5 }],
    },
    recovery: {
      'restart-app': {
        description: 'restart the app on every host, one at a time',
        steps: [
          {
            type: 'script',
            name: 'restart',
            // Says it started, then waits for the test to let it finish.
            script:
              'touch started\nwhile [ ! -e ../release ]; do sleep 0.05; done\necho restarted > restarted',
            timeout: 60,
          },
        ],
        rolling: { batchSize: 1, maxErrors: 0 },
      },
    },
  } as never);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
});

/** Resolves once `file` exists; fails if the run ends first (saying how). */
async function appears(file: string, run: Promise<{ status: string; cause?: string }>): Promise<void> {
  let ended: string | undefined;
  void run.then((r) => {
    ended = `${r.status}: ${r.cause ?? ''}`;
  });
  while (!existsSync(file)) {
    if (ended) throw new Error(`the run ended before ${file} appeared (${ended})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a rolling runbook whose run is stopped during batch 1', () => {
  it('finishes batch 1, registers it back, and never drains nor runs anything on batches 2 and 3', async () => {
    // Prepare: every host in the target group; the run recorded as the CLI records it
    const lb = new LocalLoadBalancer({ home: () => home });
    await lb.register(GROUP, hosts);
    const { engine, handlers } = recoverEngine({
      home,
      commands: (t) => commandRunnerFor(t),
      hosts: (t) => hostDirectoryFor(t),
      probes: (t) => probeRunnerFor(t),
      loadBalancer: () => new LocalLoadBalancer({ home: () => home }),
    });
    const recording = recordLocalRun('recover', { target: TARGET, reason: 'vitest' });
    const command = handlers[RECOVER_ARNS['run-recovery-command']] as LambdaHandler;
    const invocations: Promise<unknown>[] = [];
    const execution = engine.start(
      { target: TARGET, runbook: 'restart-app', reason: 'vitest' },
      {
        executionName: recording.runId,
        handlerOverrides: {
          [RECOVER_ARNS['run-recovery-command']]: (event, context) => {
            const running = Promise.resolve(command(event, context));
            invocations.push(
              running.then(
                () => undefined,
                (error: Error) => error,
              ),
            );
            return running;
          },
        },
      },
    );
    const [first, second, third] = hosts as [HostRef, HostRef, HostRef];
    await appears(path.join(dirs[0] as string, 'started'), execution.result);

    // Act: the operator stops the run while batch 1 runs; then batch 1's script ends
    execution.abort();
    const result = await execution.result;
    recording.finish(result);
    await writeFile(path.join(root, 'release'), '');
    const ending = await invocations.at(-1);

    // Assess: the run was aborted; its last invocation ended with RunStoppedError after batch 1
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.Aborted');
    expect(ending).toBeInstanceOf(Error);
    expect((ending as Error).name).toBe('RunStoppedError');
    expect((ending as Error).message).toContain(`nothing was drained or sent to ${second.id}, ${third.id}`);
    // Batch 1 ran and is back in the load balancer; batches 2 and 3 were never drained nor run
    expect(existsSync(path.join(dirs[0] as string, 'restarted'))).toBe(true);
    for (const dir of dirs.slice(1)) expect(existsSync(path.join(dir, 'started')), dir).toBe(false);
    expect((await lb.health(GROUP, hosts)).map((m) => [m.hostId, m.state])).toEqual([
      [first.id, 'healthy'],
      [second.id, 'healthy'],
      [third.id, 'healthy'],
    ]);
  });
});
