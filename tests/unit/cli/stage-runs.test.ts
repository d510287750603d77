/**
 * `stepops backup --stage` and `stepops recover --stage` against a mocked Step Functions client:
 * the input checks of the workflows' first step before anything is asked of AWS, `StartExecution`
 * under an idempotent name, following the run to its end; and `history` of runs EventBridge
 * Scheduler started, which carry the name Step Functions made up.
 */
import {
  ListStateMachinesCommand,
  StartExecutionCommand,
  StartSyncExecutionCommand,
} from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, it } from 'vitest';
import { backup } from '../../../cli/commands/backup.ts';
import { health } from '../../../cli/commands/health.ts';
import { history } from '../../../cli/commands/history.ts';
import { recover } from '../../../cli/commands/recover.ts';
import type { Output } from '../../../cli/output.ts';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import type { TargetInput } from '../../../shared/config/schema.ts';
import { HistoryBuilder } from '../../helpers/sfn-history.ts';
import { ec2Target, rdsSnapshotJob } from '../api/fixtures.ts';
import { fakeSfn, machineArn } from './fake-sfn.ts';

let sfn: ReturnType<typeof fakeSfn>;
let lines: string[];
let errors: string[];
const output: Output = {
  out: (text) => lines.push(...text.replace(/\n$/, '').split('\n')),
  err: (text) => errors.push(...text.replace(/\n$/, '').split('\n')),
};
const sleep = async () => {};
const env = { USER: 'ana' } as NodeJS.ProcessEnv;

function shopTarget(): TargetInput {
  return {
    ...ec2Target('shop'),
    backup: [
      rdsSnapshotJob({ restoreTest: { schedule: 'cron(0 5 ? * SUN *)' } }),
      { name: 'volumes', type: 'ebs-snapshot', schedule: 'cron(30 3 * * ? *)', retention: { count: 3 } },
    ],
    recovery: {
      'restart-api': {
        description: 'Restart the API',
        steps: [{ type: 'script', name: 'restart', script: 'systemctl restart api', timeout: 60 }],
      },
      'rebuild-cache': {
        description: 'Drop and rebuild the cache',
        destructive: true,
        params: { size: { type: 'number', description: 'cache size in MB' } },
        steps: [
          { type: 'script', name: 'rebuild', script: 'rebuild-cache "$STEPOPS_PARAM_SIZE"', timeout: 60 },
        ],
      },
    },
  };
}

/** A finished backup run: plan, the Map over its jobs, notify. */
function backupHistory(start: Date) {
  return new HistoryBuilder(start)
    .started({ target: 'shop' })
    .task('PlanBackup', 'plan-backup', { output: { plan: { jobs: [{ name: 'db' }] } } })
    .task('Notify', 'notify-backup', { output: { outcome: 'succeeded' } })
    .succeeded({ outcome: 'succeeded' });
}

beforeEach(() => {
  sfn?.mock.restore();
  sfn = fakeSfn({ prod: ['deploy', 'backup', 'recover'] });
  lines = [];
  errors = [];
  clearRegisteredTargets();
  registerTarget(shopTarget());
  registerTarget({ ...ec2Target('lab'), hosts: { type: 'local', directory: '/tmp/nowhere' } });
});

describe('backup --stage', () => {
  it('starts the stage backup under an idempotent name and follows it to its end', async () => {
    // Prepare
    sfn.onStart(backupHistory(new Date()), { status: 'SUCCEEDED' });

    // Act
    const code = await backup(
      'shop',
      { stage: 'prod', backup: 'db', reason: 'before the migration', idempotencyKey: 'mig-7' },
      { sfn: sfn.client, output, sleep, env, interactive: false },
    );

    // Assess
    expect(code, errors.join('\n')).toBe(0);
    const start = sfn.mock.commandCalls(StartExecutionCommand);
    expect(start).toHaveLength(1);
    expect(start[0]!.args[0].input).toEqual({
      stateMachineArn: machineArn('stepops-prod-backup'),
      name: expect.stringMatching(/^shop-[0-9a-f]{16}$/),
      input: JSON.stringify({
        target: 'shop',
        backup: 'db',
        reason: 'before the migration',
        requestedBy: 'ana (stepops backup)',
      }),
    });
    expect(lines[0]).toMatch(/^started backup shop-[0-9a-f]{16} of shop on stage prod$/);
    expect(lines).toContain('  ✔ PlanBackup  260 ms');
    expect(lines).toContain('✔ backup of shop succeeded in 580 ms');
  });

  it('asks for a restore test with --restore-test, and is idempotent with the same key', async () => {
    // Prepare
    sfn.onStart(backupHistory(new Date()), undefined);
    const options = { stage: 'prod', restoreTest: true, idempotencyKey: 'weekly', follow: false };

    // Act
    await backup('shop', options, { sfn: sfn.client, output, env });
    const first = lines.at(-1);
    await backup('shop', options, { sfn: sfn.client, output, env });

    // Assess
    const start = sfn.mock.commandCalls(StartExecutionCommand);
    expect(start).toHaveLength(1);
    expect(JSON.parse(start[0]!.args[0].input.input!)).toEqual({
      target: 'shop',
      requestedBy: 'ana (stepops backup)',
      task: 'restore-test',
    });
    expect(lines.at(-1)).toBe(first);
    expect(lines).toContainEqual(
      expect.stringMatching(/^already started restore-test shop-[0-9a-f]{16} of shop /),
    );
  });

  it.each([
    [{ backup: 'nope' }, 'target "shop" has no backup "nope"'],
    [{ backup: 'volumes', restoreTest: true }, 'backup "volumes" of target "shop" declares no restoreTest'],
    [{ reason: 'x'.repeat(501) }, 'invalid backup request: reason:'],
  ])('refuses %j with exit 2 before asking AWS anything', async (options, message) => {
    // Act
    const code = await backup('shop', { stage: 'prod', ...options }, { sfn: sfn.client, output, env });

    // Assess
    expect(code).toBe(2);
    expect(errors.join('\n')).toContain(message);
    expect(sfn.mock.commandCalls(ListStateMachinesCommand)).toHaveLength(0);
    expect(sfn.mock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses a target with local hosts on a stage, and an unknown target', async () => {
    // Act
    const local = await backup('lab', { stage: 'prod' }, { sfn: sfn.client, output, env });
    const unknown = await backup('nowhere', { stage: 'prod' }, { sfn: sfn.client, output, env });

    // Assess
    expect(local).toBe(2);
    expect(unknown).toBe(2);
    expect(errors[0]).toContain('target "lab" declares local hosts: it runs on the local engine only');
    expect(errors[1]).toContain('unknown target "nowhere"');
    expect(sfn.mock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});

describe('recover --stage', () => {
  it('starts the runbook with its typed parameters and says how to answer its approval', async () => {
    // Prepare
    sfn.onStart(new HistoryBuilder(new Date()).started({}).running, undefined);

    // Act
    const code = await recover(
      'shop',
      {
        stage: 'prod',
        runbook: 'rebuild-cache',
        param: ['size=512'],
        reason: 'cache corrupt',
        follow: false,
      },
      { sfn: sfn.client, output, env },
    );

    // Assess
    expect(code).toBe(0);
    const start = sfn.mock.commandCalls(StartExecutionCommand);
    expect(start[0]!.args[0].input.stateMachineArn).toBe(machineArn('stepops-prod-recover'));
    expect(JSON.parse(start[0]!.args[0].input.input!)).toEqual({
      target: 'shop',
      runbook: 'rebuild-cache',
      reason: 'cache corrupt',
      requestedBy: 'ana (stepops recover)',
      params: { size: 512 },
    });
    expect(lines.join('\n')).toMatch(
      /it waits for approval \(the runbook is marked destructive\): answer with stepops approve shop-[0-9a-f]{16} or stepops reject shop-[0-9a-f]{16}/,
    );
  });

  it('says nothing of approval for a runbook a person may run without one', async () => {
    // Prepare
    sfn.onStart(new HistoryBuilder(new Date()).started({}).running, undefined);

    // Act
    await recover(
      'shop',
      { stage: 'prod', runbook: 'restart-api', follow: false },
      { sfn: sfn.client, output, env },
    );

    // Assess
    expect(lines.join('\n')).not.toContain('approval');
  });

  it.each([
    [{ runbook: 'nope' }, 'target "shop" has no runbook "nope"'],
    [{ runbook: 'rebuild-cache', param: ['size=big'] }, 'size'],
    [{ runbook: 'restart-api', yes: true }, '--yes answers a local run only'],
    [{ runbook: 'restart-api', reason: ' ' }, 'expected a non-empty reason'],
  ])('refuses %j with exit 2 before asking AWS anything', async (options, message) => {
    // Act
    const code = await recover('shop', { stage: 'prod', ...options }, { sfn: sfn.client, output, env });

    // Assess
    expect(code).toBe(2);
    expect(errors.join('\n')).toContain(message);
    expect(sfn.mock.commandCalls(ListStateMachinesCommand)).toHaveLength(0);
  });
});

describe('history of scheduled runs', () => {
  it('lists the backups EventBridge Scheduler started, named by Step Functions, among the target’s own', async () => {
    // Prepare: a scheduled run (UUID name), a CLI run, and another target's run
    const start = new Date(Date.now() - 3_600_000);
    sfn.addExecution({
      stage: 'prod',
      workflow: 'backup',
      name: '0f7c2a9e-5b1d-4c3e-9a8f-1d2e3f4a5b6c',
      input: { target: 'shop', backup: 'db', reason: 'schedule cron(0 3 * * ? *)' },
      history: backupHistory(start),
      status: 'SUCCEEDED',
    });
    sfn.addExecution({
      stage: 'prod',
      workflow: 'backup',
      name: 'shop-00000000000000aa',
      input: { target: 'shop', reason: 'by hand' },
      history: backupHistory(new Date(start.getTime() + 60_000)),
      status: 'SUCCEEDED',
    });
    sfn.addExecution({
      stage: 'prod',
      workflow: 'backup',
      name: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
      input: { target: 'docs', reason: 'schedule cron(0 2 * * ? *)' },
      history: backupHistory(new Date(start.getTime() + 120_000)),
      status: 'SUCCEEDED',
    });

    // Act
    await history(
      'shop',
      { stage: 'prod', workflow: 'backup', json: true },
      { sfn: sfn.client, output, env },
    );

    // Assess
    const runs = JSON.parse(lines.join('\n')).runs as { runId: string; reason: string }[];
    expect(runs.map((r) => [r.runId, r.reason])).toEqual([
      ['shop-00000000000000aa', 'by hand'],
      ['0f7c2a9e-5b1d-4c3e-9a8f-1d2e3f4a5b6c', 'schedule cron(0 3 * * ? *)'],
    ]);
  });
});

describe('health --stage', () => {
  it("runs one round through the stage's Express health state machine and says how it went", async () => {
    // Prepare: the round finds one probe down (the state machine records and alerts it itself)
    sfn.mock.restore();
    sfn = fakeSfn({ prod: ['deploy', 'backup', 'recover', 'health'] });
    sfn.mock.on(StartSyncExecutionCommand).resolves({
      status: 'SUCCEEDED',
      output: JSON.stringify({ target: 'shop', runId: 'r', up: 2, down: 1, events: [], conflicts: 0 }),
    });

    // Act
    const code = await health('shop', { stage: 'prod' }, { sfn: sfn.client, env, output });

    // Assess: StartSyncExecution of stepops-prod-health with the input a schedule gives
    expect(code).toBe(1);
    const calls = sfn.mock.commandCalls(StartSyncExecutionCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({
      stateMachineArn: machineArn('stepops-prod-health'),
      input: JSON.stringify({ target: 'shop' }),
    });
    expect(calls[0]?.args[0].input.name).toMatch(/^shop-health-[0-9a-f]{16}$/);
    expect(lines.join('\n')).toMatch(
      /^health shop on stage prod \(run shop-health-[0-9a-f]{16}\): 2 up, 1 down$/m,
    );
  });

  it('refuses a local target before asking AWS anything', async () => {
    // Act
    const act = health('lab', { stage: 'prod' }, { sfn: sfn.client, env, output });

    // Assess
    await expect(act).rejects.toThrow(/declares local hosts: it runs on the local engine only/);
    expect(sfn.mock.calls()).toHaveLength(0);
  });
});
