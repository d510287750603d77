/**
 * The operator's commands on the local engine, for real: deploys run with bash on local hosts are
 * recorded under `.stepops/runs`, and `history`, `status`, `logs`, `follow` and `rollback` read
 * them as they read a stage's runs.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deploy } from '../../../cli/commands/deploy.ts';
import { follow } from '../../../cli/commands/follow.ts';
import { history } from '../../../cli/commands/history.ts';
import { logs } from '../../../cli/commands/logs.ts';
import { rollback } from '../../../cli/commands/rollback.ts';
import { status } from '../../../cli/commands/status.ts';
import type { Output } from '../../../cli/output.ts';
import { LocalRunSource, localRunsDir, recordLocalRun } from '../../../cli/runs/local.ts';
import { clearRegisteredTargets } from '../../../shared/config/registry.ts';
import { createLab, type Lab } from '../../workflows/fixtures.ts';

let lab: Lab;
let lines: string[];
const output: Output = {
  out: (text) => lines.push(...text.replace(/\n$/, '').split('\n')),
  err: (text) => lines.push(...text.replace(/\n$/, '').split('\n')),
};
const env = { USER: 'ana' } as NodeJS.ProcessEnv;
const savedHome = process.env.STEPOPS_HOME;

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  lab = await createLab();
  // The deploy writes the ref as the host's version; v-bad breaks the app, and the rollback restores it.
  await lab.target('cli-local', {
    steps: [
      'echo "deploying $STEPOPS_REF"',
      'if [ "$STEPOPS_REF" = v-bad ]; then echo broken > state; else echo ok > state; fi',
      'echo "$STEPOPS_REF" > version',
    ],
    rollback: ['echo ok > state', 'echo "rolled back"'],
    gateTimeout: 3,
  });
});

afterAll(async () => {
  await lab.close();
  clearRegisteredTargets();
  if (savedHome === undefined) delete process.env.STEPOPS_HOME;
  else process.env.STEPOPS_HOME = savedHome;
});

beforeEach(() => {
  lines = [];
});

function recorded(): string[] {
  return existsSync(localRunsDir()) ? readdirSync(localRunsDir()) : [];
}

describe('local runs', () => {
  it('records a local deploy and shows it in history, status and logs', async () => {
    // Act
    const code = await deploy(
      'cli-local',
      { ref: 'v1', reason: 'first' },
      { output, env, interactive: false },
    );
    const deployed = lines.join('\n');
    lines = [];
    await history('cli-local', {}, { output, env, isTTY: false });
    const historyText = lines.join('\n');
    lines = [];
    await status('cli-local', { json: true }, { output, env });
    const report = JSON.parse(lines.join('\n'));
    const [run] = await new LocalRunSource().list('deploy', { target: 'cli-local', limit: 1 });
    lines = [];
    await logs(run!.runId, {}, { output, env });
    const logText = lines.join('\n');

    // Assess
    expect(code).toBe(0);
    expect(deployed).toContain('✔ deploy of cli-local at v1 succeeded');
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      target: 'cli-local',
      ref: 'v1',
      reason: 'first',
      where: 'local',
    });
    expect(run!.runId).toMatch(/^cli-local-[0-9a-f]{16}$/);
    expect(historyText).toMatch(
      new RegExp(
        `${run!.runId}\\s+SUCCEEDED\\s+just now\\s+\\d+\\.\\d s\\s+v1\\s+first\\s+ana \\(stepops deploy\\)`,
      ),
    );
    expect(report.workflows[0]).toMatchObject({
      target: 'cli-local',
      last: { runId: run!.runId, status: 'SUCCEEDED' },
    });
    expect(logText).toContain(`run ${run!.runId} · SUCCEEDED`);
    expect(logText).toMatch(/deploy batch 1: command \S+ \(SendDeployCommand\)/);
    expect(logText).toMatch(/local:\S+\s+succeeded \(exit 0\)/);
    expect(logText).toContain('deploying v1');
    expect(readFileSync(path.join(lab.hostDir('cli-local'), 'version'), 'utf8').trim()).toBe('v1');
  }, 60_000);

  it('follows a finished local run to its timeline and exit code', async () => {
    // Prepare: a deploy that fails its gate and is rolled back
    const code = await deploy('cli-local', { ref: 'v-bad' }, { output, env, interactive: false });
    const [failed] = await new LocalRunSource().list('deploy', { target: 'cli-local', limit: 1 });
    lines = [];

    // Act
    const followed = await follow(failed!.runId, { local: true }, { output, env });

    // Assess
    expect(code).toBe(1);
    expect(followed).toBe(1);
    const text = lines.join('\n');
    expect(text).toContain('▸ CheckHealth [0]');
    expect(text).toMatch(/⤷ DeployBatches caught HealthGateFailedError → PlanRollback/);
    expect(text).toContain(`run ${failed!.runId} · FAILED`);
    expect(text).toContain('✖ deploy of cli-local at v-bad failed: DeployFailedError');
  }, 60_000);

  it('follows a local run live while it runs in this process', async () => {
    // Prepare: start a deploy, and attach once its record exists
    const before = new Set(recorded());
    const running = deploy(
      'cli-local',
      { ref: 'v1' },
      { output: { out: () => {}, err: () => {} }, env, interactive: false },
    );
    let runId: string | undefined;
    while (!runId) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      runId = recorded().find((id) => !before.has(id));
    }
    const waits: number[] = [];

    // Act
    const followed = await follow(
      runId,
      { local: true },
      {
        output,
        env,
        sleep: (ms) => {
          waits.push(ms);
          return new Promise((resolve) => setTimeout(resolve, 20));
        },
      },
    );
    await running;

    // Assess
    expect(followed).toBe(0);
    expect(waits.length).toBeGreaterThan(0);
    const text = lines.join('\n');
    expect(text).toContain('▸ CheckHealth [0]');
    expect(text).toContain('✔ deploy of cli-local at v1 succeeded');
  }, 60_000);

  it('rolls back to the previous good ref', async () => {
    // Prepare: v1 (good), v-bad (rolled back), v2 (good, current)
    await deploy('cli-local', { ref: 'v2' }, { output, env, interactive: false });
    lines = [];

    // Act
    const code = await rollback('cli-local', { yes: true }, { output, env, interactive: false });

    // Assess
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^current:\s+v2 /);
    expect(lines[1]).toMatch(/^roll back to: v1 /);
    expect(readFileSync(path.join(lab.hostDir('cli-local'), 'version'), 'utf8').trim()).toBe('v1');
    const [last] = await new LocalRunSource().list('deploy', { target: 'cli-local', limit: 1 });
    expect(last).toMatchObject({ ref: 'v1', reason: 'rollback from v2 to v1', status: 'SUCCEEDED' });
  }, 60_000);

  it('shows each probe as the health checks recorded it, and the lock of a run holding the target', async () => {
    // Prepare: a recorded health round with one probe down, and a lease held by a run
    const { healthStoreFor } = await import('../../../shared/drivers/health.ts');
    const { leaseStoreFor } = await import('../../../shared/drivers/leases.ts');
    const { findTarget } = await import('../../../shared/config/registry.ts');
    const target = findTarget('cli-local');
    const since = new Date(Date.now() - 5 * 60_000).toISOString();
    const state = {
      target: 'cli-local',
      version: 1,
      probes: {
        app: {
          probe: 'app',
          status: 'down',
          consecutiveFailures: 3,
          consecutiveSuccesses: 0,
          since,
          lastOk: false,
          lastDetail: 'expected status 200, got 500',
          lastAt: new Date().toISOString(),
          alerted: true,
        },
      },
      recoveries: [],
    };
    await healthStoreFor(target).write('cli-local', JSON.stringify(state), 0);
    await leaseStoreFor(target).acquire('target:cli-local', 'cli-local-00000000000000aa', 600);

    // Act
    await status('cli-local', {}, { output, env, isTTY: false });
    const text = lines.join('\n');
    lines = [];
    await status('cli-local', { json: true }, { output, env });
    const report = JSON.parse(lines.join('\n'));
    await leaseStoreFor(target).release('target:cli-local', 'cli-local-00000000000000aa');

    // Assess
    expect(text).toMatch(/cli-local\s+deploy\s+—\s+SUCCEEDED v1 .*held by cli-local-00000000000000aa until /);
    expect(text).toMatch(/cli-local\s+app\s+down\s+5 min ago\s+just now: expected status 200, got 500/);
    expect(report.health['cli-local']).toEqual([
      expect.objectContaining({
        probe: 'app',
        status: 'down',
        since,
        lastDetail: 'expected status 200, got 500',
      }),
    ]);
    expect(report.leases['cli-local']).toMatchObject({ owner: 'cli-local-00000000000000aa' });
  });

  it('reads a run whose process died as aborted, and says so', async () => {
    // Prepare: a recording left RUNNING by a process that is gone
    const recording = recordLocalRun('deploy', { target: 'cli-local', ref: 'v9' });
    const file = path.join(localRunsDir(), recording.runId, 'run.json');
    const summary = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...summary, pid: 2 ** 22 + 12345 }));

    // Act
    const run = await new LocalRunSource().describe(recording.runId);

    // Assess
    expect(run).toMatchObject({ status: 'ABORTED', error: 'States.Aborted' });
    expect(run!.cause).toMatch(/the stepops process \(pid \d+\) that ran it ended before the run did/);
    expect(recorded()).toContain(recording.runId);
  });
});
