/**
 * A rolling runbook behind a load balancer, through the real `run-recovery-command` Lambda module
 * (its own wiring of drivers, as AWS runs it), on the shared AWS fakes: two instances in one ELBv2
 * target group, the runbook's script step one host per batch, each batch drained, run, passed
 * through the health gate (a command probe, through SSM) and registered back before the next one.
 * The SSM fake runs each script with bash, once per instance. Every call is checked against the
 * function's IAM policy as the stacks render it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

/** The environment before this file: restored after it. */
const saved = vi.hoisted(() => {
  const before = { ...process.env };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  // What stacks/recover.ts gives every recovery function in a stage named `test`.
  process.env.STEPOPS_STATE_TABLE = 'stepops-test-state';
  process.env.STEPOPS_ALERTS_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:stepops-test-alerts';
  return before;
});

import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import { createLambdaContext, withinInvocation } from '../../shared/engine/index.ts';
import { INITIAL_PROGRESS, type StepProgress } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { planRecoveryStep } from '../../shared/recovery/run.ts';
import { type AwsFakes, installAwsFakes } from '../fakes/index.ts';
import { ACCOUNT, REGION } from '../infra/harness.ts';
import { expectRecordedCallsAllowed } from './record-calls.ts';

const GROUP = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/web/0123456789abcdef`;
const WEB_1 = 'i-0aaaaaaaaaaaaaaa1';
const WEB_2 = 'i-0aaaaaaaaaaaaaaa2';

let aws: AwsFakes;
let workdir: string;
/** An execution the SSM fake stops (StopExecution) when the restart script first runs. */
let stopWhenRestarted: string | undefined;

/** The target: two tagged instances behind one target group, a rolling restart one host at a time. */
function rollingTarget(name: string, gateTimeout: number) {
  return {
    name,
    description: 'two web hosts behind an ALB, restarted one at a time',
    hosts: { type: 'ec2', region: REGION, tags: { 'stepops:target': name }, workingDirectory: workdir },
    deploy: {
      steps: [{ name: 'noop', script: 'true', timeout: 10 }],
      rollback: [{ name: 'noop', script: 'true', timeout: 10 }],
      healthGate: { probes: ['app'], timeout: gateTimeout, interval: 1, successes: 1 },
      loadBalancer: { targetGroups: [GROUP], drainTimeout: 60, healthyTimeout: 60 },
    },
    health: {
      schedule: 'rate(1 minute)',
      // Down while the host holds `down-<instance>`.
      probes: [{ name: 'app', type: 'command', script: 'test ! -e "down-$AWS_SSM_INSTANCE_ID"', timeout: 5 }],
    },
    recovery: {
      'restart-app': {
        description: 'restart the app on each host, one at a time',
        steps: [
          {
            type: 'script',
            name: 'restart',
            script:
              'echo restarted >> "restarted-$AWS_SSM_INSTANCE_ID"\nif [ -e break ]; then touch "down-$AWS_SSM_INSTANCE_ID"; fi',
            timeout: 30,
          },
        ],
        rolling: { batchSize: 1, maxErrors: 0 },
      },
    },
  };
}

beforeAll(() => {
  workdir = mkdtempSync(path.join(tmpdir(), 'stepops-rc-elb-'));
  registerTarget(rollingTarget('rc-elb', 30) as never);
  registerTarget(rollingTarget('rc-elb-gate', 2) as never);
});

beforeEach(() => {
  aws?.restore();
  rmSync(workdir, { recursive: true, force: true });
  mkdirSync(workdir);
  aws = installAwsFakes({
    ssm: {
      run: (script, instance) => {
        if (stopWhenRestarted && script.includes('restarted-')) aws.sfn.stop(stopWhenRestarted);
        const result = spawnSync('bash', ['-c', script], {
          cwd: workdir,
          encoding: 'utf8',
          env: {
            PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/bin',
            AWS_SSM_INSTANCE_ID: instance,
          },
        });
        return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
      },
    },
  });
  for (const [id, target] of [
    [WEB_1, 'rc-elb'],
    [WEB_2, 'rc-elb'],
    ['i-0bbbbbbbbbbbbbbb1', 'rc-elb-gate'],
    ['i-0bbbbbbbbbbbbbbb2', 'rc-elb-gate'],
  ] as const) {
    aws.ec2.instances.set(id, { id, region: REGION, state: 'running', tags: { 'stepops:target': target } });
    aws.ssm.online.add(id);
  }
  aws.elbv2.addGroup(GROUP, [WEB_1, WEB_2, 'i-0bbbbbbbbbbbbbbb1', 'i-0bbbbbbbbbbbbbbb2']);
});

afterAll(() => {
  aws?.restore();
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  clearRegisteredTargets();
  rmSync(workdir, { recursive: true, force: true });
});

/** Runs the runbook's step through the Lambda module until it is no longer running. */
async function runStep(target: string, runId: string, executionId?: string): Promise<StepProgress> {
  const plan = planRecoveryStep(
    { input: { target, runbook: 'restart-app', reason: 'vitest', requestedBy: 'ops' }, runId },
    recoveryDepsWith({}),
  );
  const step = plan.steps[0];
  if (!step) throw new Error('the runbook has no step');
  const { handler } = (await import('../../functions/run-recovery-command/handler.ts')) as {
    handler: (event: unknown, context: unknown) => Promise<StepProgress>;
  };
  let progress: StepProgress = { ...INITIAL_PROGRESS };
  for (let invocation = 0; invocation < 40; invocation++) {
    progress = await withinInvocation({ functionName: 'run-recovery-command' }, () =>
      handler(
        {
          target,
          runbook: 'restart-app',
          runId,
          ...(executionId ? { executionId } : {}),
          params: plan.params,
          step,
          context: { instanceIds: [], steps: {}, checks: [] },
          progress,
        },
        createLambdaContext({
          arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:run-recovery-command`,
          timeoutSeconds: 85,
        }),
      ),
    );
    if (progress.status !== 'running') return progress;
  }
  throw new Error(`the step still runs after 40 invocations: ${JSON.stringify(progress)}`);
}

/** What changed something, in order: load balancer moves and commands, with the instances each named. */
function moves(): string[] {
  return aws.log.calls
    .filter((c) => !c.error && /DeregisterTargets|RegisterTargets|SendCommand/.test(c.call))
    .map((c) => {
      const input = c.input as { Targets?: { Id: string }[]; InstanceIds?: string[]; Comment?: string };
      const ids = (input.Targets?.map((t) => t.Id) ?? input.InstanceIds ?? []).join(',');
      const what =
        c.call === 'ssm:SendCommand'
          ? String(input.Comment).includes('stepops probes ')
            ? 'probe'
            : 'run'
          : c.call;
      return `${what} ${ids}`;
    });
}

describe('a rolling runbook behind a load balancer, through the run-recovery-command Lambda', () => {
  it('drains each host, restarts it, gates it and registers it back before the next one', async () => {
    // Act
    const progress = await runStep('rc-elb', 'rc-elb-run-1');

    // Assess: done on both hosts, one batch each
    expect(progress.status, JSON.stringify(progress)).toBe('done');
    expect(progress.summary).toBe(`ran on ${WEB_1}, ${WEB_2} in 2 batches`);
    expect(existsSync(path.join(workdir, `restarted-${WEB_1}`))).toBe(true);
    expect(existsSync(path.join(workdir, `restarted-${WEB_2}`))).toBe(true);
    // The order: each host out, restarted, probed, in, before the next host goes out.
    expect(moves()).toEqual([
      `elbv2:DeregisterTargets ${WEB_1}`,
      `run ${WEB_1}`,
      `probe ${WEB_1}`,
      `elbv2:RegisterTargets ${WEB_1}`,
      `elbv2:DeregisterTargets ${WEB_2}`,
      `run ${WEB_2}`,
      `probe ${WEB_2}`,
      `elbv2:RegisterTargets ${WEB_2}`,
    ]);
    expect(aws.log.of('elbv2:DeregisterTargets')[0]).toEqual({
      TargetGroupArn: GROUP,
      Targets: [{ Id: WEB_1 }],
    });
    expect([...(aws.elbv2.groups.get(GROUP) ?? [])].map(([id, t]) => [id, t.state])).toContainEqual([
      WEB_2,
      expect.stringMatching(/initial|healthy/),
    ]);
  });

  it('a host that fails the gate is registered back and stops the runbook before the next host', async () => {
    // Prepare: the restart leaves the host's app down
    writeFileSync(path.join(workdir, 'break'), '');

    // Act
    const failure = await runStep('rc-elb-gate', 'rc-elb-run-2').catch((error: Error) => error);

    // Assess
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).name).toBe('RecoveryStepFailedError');
    expect((failure as Error).message).toContain('did not pass the health gate');
    expect((failure as Error).message).toContain('i-0bbbbbbbbbbbbbbb1 registered back in the load balancer');
    const changes = moves().filter((m) => !m.startsWith('probe'));
    expect(changes).toEqual([
      'elbv2:DeregisterTargets i-0bbbbbbbbbbbbbbb1',
      'run i-0bbbbbbbbbbbbbbb1',
      'elbv2:RegisterTargets i-0bbbbbbbbbbbbbbb1',
    ]);
    expect(existsSync(path.join(workdir, 'restarted-i-0bbbbbbbbbbbbbbb2'))).toBe(false);
  });

  it('stops before draining the next host once its execution was stopped (StopExecution), batch 1 registered back', async () => {
    // Prepare: the execution runs; the operator stops it while host 1 restarts
    const execution = `arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-recover:rc-elb-run-3`;
    aws.sfn.executions.set(execution, 'RUNNING');
    stopWhenRestarted = execution;

    // Act
    const failure = await runStep('rc-elb', 'rc-elb-run-3', execution)
      .catch((error: Error) => error)
      .finally(() => {
        stopWhenRestarted = undefined;
      });

    // Assess
    expect((failure as Error).name, String(failure)).toBe('RunStoppedError');
    expect(aws.log.of('states:DescribeExecution')).toEqual([{ executionArn: execution }]);
    expect(moves().filter((m) => !m.startsWith('probe'))).toEqual([
      `elbv2:DeregisterTargets ${WEB_1}`,
      `run ${WEB_1}`,
      `elbv2:RegisterTargets ${WEB_1}`,
    ]);
    expect(existsSync(path.join(workdir, `restarted-${WEB_2}`))).toBe(false);
  });

  it('keeps going when Step Functions does not know the execution (liveness unknown)', async () => {
    // Act
    const progress = await runStep(
      'rc-elb',
      'rc-elb-run-4',
      `arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-recover:rc-elb-run-4`,
    );

    // Assess
    expect(progress.status, JSON.stringify(progress)).toBe('done');
    expect(aws.log.calls.filter((c) => c.call === 'states:DescribeExecution').map((c) => c.error)).toEqual([
      'ExecutionDoesNotExist',
    ]);
    expect(existsSync(path.join(workdir, `restarted-${WEB_2}`))).toBe(true);
  });

  it("sends only calls the function's IAM policy allows, as the stacks render it", async () => {
    await expectRecordedCallsAllowed();
  }, 600_000);
});
