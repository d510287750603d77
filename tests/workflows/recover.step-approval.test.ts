/**
 * Approval per destructive step, on the local engine against EC2 and SSM mocked at the command
 * level: a runbook declared `approve: 'each-step'` asks before each destructive step, after the
 * steps before it ran, and each request shows the exact resources that step will change; a
 * rejection of the second step leaves the first one done and the second never started. A runbook
 * approved once (the default) shows every step's resources in its one request.
 */
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerTarget } from '../../shared/config/registry.ts';
import type { TargetInput } from '../../shared/config/schema.ts';
import { Ec2HostDirectory } from '../../shared/drivers/aws/ec2-host-directory.ts';
import { Ec2InstanceOperations } from '../../shared/drivers/aws/ec2-instance-operations.ts';
import { EngineTaskAnswerer } from '../../shared/drivers/local/engine-task-answerer.ts';
import { FileApprovalStore } from '../../shared/drivers/local/file-approval-store.ts';
import { FileLeaseStore } from '../../shared/drivers/local/file-lease-store.ts';
import type { PendingTask } from '../../shared/engine/callback.ts';
import { answerApproval } from '../../shared/recovery/approval.ts';
import { type FakeAws, fakeAws } from './aws-fakes.ts';
import {
  createHostSimulator,
  type HostSimulator,
  outbox,
  recordingProbes,
  recoverEngine,
} from './recover.fixtures.ts';

const WEB1 = 'i-0a1b2c3d4e5f60101';
const WEB2 = 'i-0a1b2c3d4e5f60102';
const TARGET = 'rc-approve-each';

let sim: HostSimulator;
let aws: FakeAws | undefined;
let home: string | undefined;

beforeAll(async () => {
  sim = await createHostSimulator();
  const steps = [
    {
      type: 'script' as const,
      name: 'flush-cache',
      script: 'echo flushed > flushed',
      timeout: 30,
      destructive: true,
    },
    { type: 'reboot' as const, name: 'reboot-all', timeout: 600, destructive: true },
  ];
  const target: TargetInput = {
    name: TARGET,
    description: 'two instances, runbooks with two destructive steps',
    hosts: {
      type: 'ec2',
      region: 'eu-west-1',
      tags: { App: 'each' },
      user: 'root',
      workingDirectory: '/opt/app',
    },
    recovery: {
      'each-step': { description: 'flush, then reboot, each approved', approve: 'each-step', steps },
      once: { description: 'flush, then reboot, approved once', steps },
    },
  };
  registerTarget(target);
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  aws?.restore();
  aws = undefined;
  if (home) await rm(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  home = undefined;
});

function account(): FakeAws {
  const web = (id: string) => ({
    id,
    state: 'running',
    tags: { App: 'each', 'stepops:target': TARGET },
    az: 'eu-west-1a',
    volumes: [],
  });
  aws = fakeAws({ instances: [web(WEB1), web(WEB2)] });
  return aws;
}

/** What the run had done when each approval was asked, and the request's payload step. */
interface Asked {
  step: string | undefined;
  reboots: number;
  flushed: boolean;
  /** The execution the target's lease names (health asks whether it still runs). */
  execution: string | undefined;
}

async function run(runbook: string, decide: (asked: Asked, index: number) => 'approved' | 'rejected') {
  home = await mkdtemp(path.join(tmpdir(), 'stepops-rc-each-'));
  for (const id of [WEB1, WEB2]) await rm(path.join(sim.hostDir(id), 'flushed'), { force: true });
  process.env.STEPOPS_HOME = home;
  const store = new FileApprovalStore({ home: () => home as string });
  const leases = new FileLeaseStore({ home: () => home as string });
  const { engine, tokens } = recoverEngine({
    home,
    commands: () => sim.runner,
    hosts: () => new Ec2HostDirectory(),
    probes: () => recordingProbes(),
    instances: () => new Ec2InstanceOperations(),
  });
  const executionName = `${runbook}-${Math.random().toString(36).slice(2, 8)}`;
  const asked: Asked[] = [];
  const answers: Promise<unknown>[] = [];
  const flushed = () =>
    access(path.join(sim.hostDir(WEB1), 'flushed')).then(
      () => true,
      () => false,
    );
  const result = await engine.start(
    { target: TARGET, runbook, reason: 'vitest', requestedBy: 'vitest' },
    {
      executionName,
      onTaskToken: (task: PendingTask) => {
        answers.push(
          (async () => {
            const step = (task.payload as { step?: { name?: string } }).step?.name;
            const now: Asked = {
              step,
              reboots: aws?.log.filter((c) => c === 'RebootInstances').length ?? 0,
              flushed: await flushed(),
              execution: (await leases.holder(`target:${TARGET}`))?.execution,
            };
            asked.push(now);
            await answerApproval(
              {
                runId: executionName,
                decision: decide(now, asked.length - 1),
                by: 'vitest',
                step: step ?? '',
              },
              store,
              new EngineTaskAnswerer(tokens),
            );
          })(),
        );
      },
    },
  ).result;
  await Promise.all(answers);
  const requests = (await outbox(home)).filter((n) => n.outcome === 'awaiting-approval');
  return { result, asked, requests, executionName };
}

describe('approval before each destructive step', () => {
  it('asks before each destructive step, after the steps before it ran, showing the resources it will change', async () => {
    // Prepare
    const fake = account();

    // Act
    const { result, asked, requests, executionName } = await run('each-step', () => 'approved');

    // Assess: the lease, taken again after each approval, still names the run's execution
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    const execution = `arn:aws:states:local:000000000000:execution:stepops-recover:${executionName}`;
    expect(asked).toEqual([
      { step: 'flush-cache', reboots: 0, flushed: false, execution },
      { step: 'reboot-all', reboots: 0, flushed: true, execution },
    ]);
    expect(fake.log.filter((c) => c === 'RebootInstances')).toHaveLength(1);
    expect(requests).toHaveLength(2);
    const [first, second] = requests;
    expect(first?.summary).toContain('step 1 of 2, "flush-cache" (script)');
    expect(first?.cause).toContain(
      [
        'step "flush-cache" will act on:',
        'step 1 flush-cache (script, destructive):',
        `  - instance ${WEB1}: runs the script of step "flush-cache"`,
        `  - instance ${WEB2}: runs the script of step "flush-cache"`,
      ].join('\n'),
    );
    // Each request shows its own step's resources, not the other's.
    expect(first?.cause).not.toContain('rebooted');
    expect(second?.summary).toContain('step 2 of 2, "reboot-all" (reboot)');
    expect(second?.cause).toContain(
      [
        'step 2 reboot-all (reboot, destructive):',
        `  - instance ${WEB1}: rebooted`,
        `  - instance ${WEB2}: rebooted`,
      ].join('\n'),
    );
    expect(second?.cause).not.toContain('runs the script');
  });

  it('a rejected second step: the first one ran, the second never started, and the outcome says so', async () => {
    // Prepare
    const fake = account();

    // Act
    const { result, asked } = await run('each-step', (_asked, index) =>
      index === 0 ? 'approved' : 'rejected',
    );

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ApprovalRejectedError');
    expect(asked.map((a) => a.step)).toEqual(['flush-cache', 'reboot-all']);
    expect(fake.log).not.toContain('RebootInstances');
    expect(result.cause).toContain('step "reboot-all" and the steps after it did not run');
    expect(result.cause).not.toContain('nothing was changed');
  });

  it('a rejected first step changes nothing', async () => {
    // Prepare
    const fake = account();

    // Act
    const { result, asked } = await run('each-step', () => 'rejected');

    // Assess
    expect(result.error).toBe('ApprovalRejectedError');
    expect(asked.map((a) => a.step)).toEqual(['flush-cache']);
    expect(asked[0]?.flushed).toBe(false);
    expect(fake.log).not.toContain('RebootInstances');
    expect(await readdir(sim.hostDir(WEB1)).catch(() => [])).not.toContain('flushed');
  });

  it('approved once (the default): one request, before anything, listing every step’s resources', async () => {
    // Prepare
    const fake = account();

    // Act
    const { result, asked, requests, executionName } = await run('once', () => 'approved');

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(asked).toEqual([
      {
        step: undefined,
        reboots: 0,
        flushed: false,
        execution: `arn:aws:states:local:000000000000:execution:stepops-recover:${executionName}`,
      },
    ]);
    expect(fake.log.filter((c) => c === 'RebootInstances')).toHaveLength(1);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.cause).toContain(
      [
        'the steps will act on:',
        'step 1 flush-cache (script, destructive):',
        `  - instance ${WEB1}: runs the script of step "flush-cache"`,
        `  - instance ${WEB2}: runs the script of step "flush-cache"`,
        'step 2 reboot-all (reboot, destructive):',
        `  - instance ${WEB1}: rebooted`,
        `  - instance ${WEB2}: rebooted`,
      ].join('\n'),
    );
  });
});
