/**
 * Every path of the recovery workflow on the local engine with real parts: bash runs the steps in a
 * host directory, the probes hit an HTTP server on 127.0.0.1 that answers from the host's `state`
 * file, approvals go through the file approval store and the engine's task tokens.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTarget } from '../../shared/config/registry.ts';
import type { TargetInput } from '../../shared/config/schema.ts';
import { BashCommandRunner } from '../../shared/drivers/local/bash-command-runner.ts';
import { EngineTaskAnswerer } from '../../shared/drivers/local/engine-task-answerer.ts';
import { FileApprovalStore } from '../../shared/drivers/local/file-approval-store.ts';
import { LocalHostDirectory } from '../../shared/drivers/local/local-host-directory.ts';
import type { PendingTask } from '../../shared/engine/index.ts';
import { probeRunnerFor } from '../../shared/health/probe-runner.ts';
import { answerApproval } from '../../shared/recovery/approval.ts';
import { ApprovalClosedError } from '../../shared/recovery/errors.ts';
import { createLab, type Lab } from './fixtures.ts';
import { outbox, recoverEngine } from './recover.fixtures.ts';

let lab: Lab;
const TARGET = 'rc-lab';

beforeAll(async () => {
  lab = await createLab();
  await mkdir(lab.hostDir(TARGET), { recursive: true });
  const script = (name: string, body: string, extra: Record<string, unknown> = {}) => ({
    type: 'script' as const,
    name,
    script: body,
    timeout: 10,
    ...extra,
  });
  const target: TargetInput = {
    name: TARGET,
    description: 'recovery paths',
    hosts: { type: 'local', directory: lab.hostDir(TARGET) },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [
        { name: 'app', type: 'http', url: `http://127.0.0.1:${lab.port}/health/${TARGET}`, timeout: 2 },
      ],
    },
    recovery: {
      restart: {
        description: 'bring the app back',
        steps: [script('restart-app', 'echo "restarting $STEPOPS_PARAM_SERVICE"\necho ok > state')],
        params: { service: { type: 'string', description: 'which service', default: 'app' } },
      },
      unattended: {
        description: 'safe to run on an alert',
        unattended: true,
        steps: [script('restart-app', 'echo ok > state')],
      },
      wipe: {
        description: 'destructive',
        steps: [script('wipe-data', 'echo wiped > marker\necho ok > state', { destructive: true })],
      },
      'wipe-quick-expiry': {
        description: 'destructive, expires fast',
        approvalTimeout: 1,
        steps: [script('wipe-data', 'echo wiped > marker\necho ok > state', { destructive: true })],
      },
      broken: {
        description: 'fails',
        steps: [
          script('first', 'echo first > first'),
          script('fails', 'echo "disk is full" >&2\nexit 3'),
          script('never', 'echo never > never'),
        ],
      },
      slow: {
        description: 'times out',
        steps: [script('hangs', 'sleep 30', { timeout: 1 })],
      },
      'stays-down': {
        description: 'runs but the app stays down',
        verifyTimeout: 2,
        steps: [script('noop', 'echo down > state')],
      },
      counted: {
        description: 'takes a number',
        steps: [script('count', 'echo "$STEPOPS_PARAM_COUNT" > count\necho ok > state')],
        params: { count: { type: 'number', description: 'how many' } },
      },
    },
  };
  registerTarget(target);
});

afterAll(async () => {
  await lab.close();
});

async function run(
  input: Record<string, unknown>,
  onTask?: (task: PendingTask, answer: (decision: 'approved' | 'rejected') => Promise<void>) => void,
) {
  const home = await mkdtemp(path.join(tmpdir(), 'stepops-rc-home-'));
  process.env.STEPOPS_HOME = home;
  await rm(path.join(lab.hostDir(TARGET), 'marker'), { force: true });
  await writeFile(path.join(lab.hostDir(TARGET), 'state'), 'down\n');
  const store = new FileApprovalStore({ home: () => home });
  const { engine, tokens } = recoverEngine({
    home,
    commands: () => new BashCommandRunner(),
    hosts: () => new LocalHostDirectory(),
    probes: (t) => probeRunnerFor(t),
  });
  const executionName = `rc-${Math.random().toString(36).slice(2, 10)}`;
  const result = await engine.start(input, {
    executionName,
    onTaskToken: (task) =>
      onTask?.(task, async (decision) => {
        await answerApproval(
          { runId: executionName, decision, by: 'vitest' },
          store,
          new EngineTaskAnswerer(tokens),
        );
      }),
  }).result;
  const notifications = await outbox(home);
  const entered = result.trace.events.filter((e) => e.kind === 'state-entered').map((e) => e.state);
  return { result, notifications, entered, store, executionName, home };
}

const base = { target: TARGET, reason: 'vitest', requestedBy: 'vitest' };

describe('recover workflow on the local engine', () => {
  it('runs a non-destructive runbook without approval, passes the parameter, and ends healthy', async () => {
    // Act
    const { result, notifications, entered } = await run({ ...base, runbook: 'restart' });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(entered).not.toContain('AwaitApproval');
    // Both states entered, then in order (a missing state would make indexOf -1 and pass).
    expect(entered).toEqual(expect.arrayContaining(['RunCommand', 'VerifyHealth']));
    expect(entered.indexOf('VerifyHealth')).toBeGreaterThan(entered.indexOf('RunCommand'));
    expect(result.output).toMatchObject({
      outcome: 'succeeded',
      summary: expect.stringContaining('healthy (app)'),
    });
    expect(notifications.map((n) => n.outcome)).toEqual(['succeeded']);
    expect(notifications[0]?.outputTail).toContain('restarting app');
  });

  it('approved: waits for the approval, then acts', async () => {
    // Act
    const { result, notifications } = await run({ ...base, runbook: 'wipe' }, (_task, answer) => {
      void answer('approved');
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(existsSync(path.join(lab.hostDir(TARGET), 'marker'))).toBe(true);
    expect(notifications.map((n) => n.outcome)).toEqual(['awaiting-approval', 'succeeded']);
    expect(notifications[0]?.summary).toContain('stepops approve rc-');
    expect(notifications[0]?.cause).toContain('wipe-data [script]');
  });

  it('rejected: ends ApprovalRejectedError having changed nothing, and the answer cannot be given twice', async () => {
    // Act
    const { result, notifications, store, executionName } = await run(
      { ...base, runbook: 'wipe' },
      (_task, answer) => {
        void answer('rejected');
      },
    );

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ApprovalRejectedError');
    expect(result.cause).toContain('rejected by vitest');
    expect(existsSync(path.join(lab.hostDir(TARGET), 'marker'))).toBe(false);
    expect(notifications.at(-1)).toMatchObject({
      outcome: 'failed',
      failedState: 'AwaitApproval',
      summary: expect.stringContaining('nothing was changed'),
    });
    await expect(store.answer(executionName, 'approved', 'mallory')).rejects.toBeInstanceOf(
      ApprovalClosedError,
    );
  });

  it('expired: ends ApprovalExpiredError after the declared time, having changed nothing, with an alert', async () => {
    // Act
    const { result, notifications, entered } = await run({ ...base, runbook: 'wipe-quick-expiry' }, () => {});

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ApprovalExpiredError');
    expect(result.cause).toContain('within 1 s');
    expect(entered).not.toContain('RunSteps');
    expect(existsSync(path.join(lab.hostDir(TARGET), 'marker'))).toBe(false);
    expect(notifications.at(-1)).toMatchObject({ outcome: 'failed', error: 'ApprovalExpiredError' });
  });

  it('a run started by a health alert waits for approval unless the runbook is declared unattended', async () => {
    // Act
    const asked: string[] = [];
    const guarded = await run({ ...base, runbook: 'restart', trigger: 'health-alert' }, (task, answer) => {
      asked.push(task.state);
      void answer('approved');
    });
    const unattended = await run({ ...base, runbook: 'unattended', trigger: 'health-alert' }, (task) => {
      asked.push(`unexpected ${task.state}`);
    });
    // The health workflow's starter says who it is rather than the trigger.
    const fromHealth = await run(
      { ...base, runbook: 'restart', requestedBy: 'stepops health' },
      (task, answer) => {
        asked.push(task.state);
        void answer('approved');
      },
    );

    // Assess
    expect(guarded.result.status).toBe('SUCCEEDED');
    expect(unattended.result.status).toBe('SUCCEEDED');
    expect(fromHealth.result.status).toBe('SUCCEEDED');
    expect(asked).toEqual(['AwaitApproval', 'AwaitApproval']);
  });

  it.each([
    [{ runbook: 'restart', target: TARGET, requestedBy: 'x' }, 'reason'],
    [{ ...base, runbook: 'nope' }, 'has no runbook "nope" (runbooks: restart'],
    [
      { ...base, runbook: 'restart', params: { colour: 'red' } },
      'params.colour: runbook "restart" of target "rc-lab" has no parameter "colour"',
    ],
    [
      { ...base, runbook: 'counted', params: { count: 'three' } },
      'params.count: expected a number, got string',
    ],
    [{ ...base, runbook: 'counted' }, 'params.count: required'],
    [
      { ...base, runbook: 'restart', params: { service: 'a;rm -rf /' } },
      'params.service: expected at most 256 plain characters',
    ],
    [{ ...base, runbook: 'restart', extra: 1 }, 'extra'],
  ])('bad input %j fails at PlanRecovery naming the field, before anything runs', async (input, message) => {
    // Act
    const { result, entered, notifications } = await run(input);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInputError');
    expect(result.cause).toContain(message);
    expect(entered).not.toContain('AcquireLock');
    expect(notifications.at(-1)?.failedState).toBe('PlanRecovery');
  });

  it('passes a number parameter to the script', async () => {
    // Act
    const { result } = await run({ ...base, runbook: 'counted', params: { count: 3 } });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(existsSync(path.join(lab.hostDir(TARGET), 'count'))).toBe(true);
  });

  it('a failing step stops the runbook, naming the step, the state and the output tail', async () => {
    // Prepare
    await rm(path.join(lab.hostDir(TARGET), 'never'), { force: true });

    // Act
    const { result, notifications } = await run({ ...base, runbook: 'broken' });

    // Assess
    expect(result.error).toBe('RecoveryStepFailedError');
    expect(result.cause).toContain('step fails (script) failed in state RunCommand');
    expect(result.cause).toContain('disk is full');
    expect(existsSync(path.join(lab.hostDir(TARGET), 'never'))).toBe(false);
    expect(notifications.at(-1)).toMatchObject({ failedState: 'RunCommand' });
  });

  it('a step that times out ends the run with the state named', async () => {
    // Act
    const { result, notifications } = await run({ ...base, runbook: 'slow' });

    // Assess
    expect(result.error).toBe('RecoveryStepTimedOutError');
    expect(result.cause).toMatch(
      /step hangs \(script\) failed in state RunCommand: step "hangs" timed out on host .* after its 1 s/,
    );
    expect(notifications.at(-1)?.failedState).toBe('RunCommand');
  });

  it('ends RecoveryUnhealthyError when the probes do not pass after the runbook', async () => {
    // Act
    const { result, notifications } = await run({ ...base, runbook: 'stays-down' });

    // Assess
    expect(result.error).toBe('RecoveryUnhealthyError');
    expect(result.cause).toContain('the target is not healthy: app');
    expect(notifications.at(-1)?.failedState).toBe('VerifyHealth');
  });

  it('refuses a second run while one holds the target', async () => {
    // Prepare
    let second: Awaited<ReturnType<typeof run>> | undefined;

    // Act
    const first = await run({ ...base, runbook: 'wipe' }, (_task, answer) => {
      void (async () => {
        const { engine } = recoverEngine({
          home: process.env.STEPOPS_HOME as string,
          commands: () => new BashCommandRunner(),
          hosts: () => new LocalHostDirectory(),
          probes: (t) => probeRunnerFor(t),
        });
        const result = await engine.start({ ...base, runbook: 'restart' }).result;
        second = { result } as never;
        await answer('approved');
      })();
    });

    // Assess
    expect(first.result.status).toBe('SUCCEEDED');
    expect(second?.result.error).toBe('TargetLockedError');
  });
});
