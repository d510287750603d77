import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { history } from '../../../cli/commands/history.ts';
import { answerRun, parseParams, runRecover } from '../../../cli/commands/recover.ts';
import type { Output } from '../../../cli/output.ts';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';
import { findTarget, registerTarget } from '../../../shared/config/registry.ts';
import { createLab, type Lab } from '../../workflows/fixtures.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules/.bin/node');
const CLI = path.join(PROJECT_ROOT, 'cli/stepops.ts');
const TARGET = 'cli-rc';
let lab: Lab;

beforeAll(async () => {
  lab = await createLab();
  await mkdir(lab.hostDir(TARGET), { recursive: true });
  registerTarget({
    name: TARGET,
    description: 'cli recovery',
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
        params: { level: { type: 'number', description: 'how deep', default: 1 } },
        steps: [
          {
            type: 'script',
            name: 'wipe',
            script: 'echo "$STEPOPS_PARAM_LEVEL" > level\necho ok > state',
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

function capture(): Output & { text(): string } {
  const lines: string[] = [];
  return { out: (t) => lines.push(t), err: (t) => lines.push(t), text: () => lines.join('\n') };
}

function stepops(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [CLI, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, STEPOPS_STATE_TABLE: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function waitForApprovalFile(runId: string): Promise<void> {
  const file = path.join(lab.home, 'approvals', `${runId}.json`);
  while (!existsSync(file)) await new Promise((r) => setTimeout(r, 50));
}

describe('stepops run recover', () => {
  it.each([
    ['not-an-id', '--instance not-an-id: expected an instance id such as "i-0123456789abcdef0"'],
    ['i-0123456789abcdef0', `--instance: target "${TARGET}" runs on local hosts, not ec2 instances`],
  ])('refuses --instance %s with exit 2 before anything starts', async (instance, message) => {
    // Prepare
    const out = capture();

    // Act
    const report = await runRecover({ target: TARGET, runbook: 'wipe', instance, yes: true, output: out });

    // Assess
    expect(report.exitCode).toBe(2);
    expect(out.text()).toContain(message);
    expect(report.executionName).toBeUndefined();
  });

  it('--yes approves up front, prints the plan and passes the parameter typed', async () => {
    // Prepare
    await writeFile(path.join(lab.hostDir(TARGET), 'state'), 'down\n');
    const out = capture();

    // Act
    const report = await runRecover({
      target: TARGET,
      runbook: 'wipe',
      params: ['level=3'],
      yes: true,
      output: out,
      interactive: false,
    });

    // Assess
    expect(report.exitCode).toBe(0);
    expect(out.text()).toContain('parameters: level=3');
    expect(out.text()).toContain('approval: approved up front (--yes)');
    expect(out.text()).toMatch(/✔ recovery "wipe" of cli-rc succeeded/);
  });

  it('records the local run, so that history --workflow recover lists it', async () => {
    // Prepare
    await writeFile(path.join(lab.hostDir(TARGET), 'state'), 'down\n');
    const runId = `cli-recorded-${Date.now()}`;
    const listed = capture();

    // Act
    const report = await runRecover({
      target: TARGET,
      runbook: 'wipe',
      yes: true,
      executionName: runId,
      output: capture(),
      interactive: false,
    });
    const code = await history(TARGET, { workflow: 'recover', json: true }, { output: listed, env: {} });

    // Assess
    expect(report.exitCode).toBe(0);
    expect(code).toBe(0);
    const { runs } = JSON.parse(listed.text()) as {
      runs: { runId: string; status: string; where: string }[];
    };
    expect(runs[0]).toMatchObject({ runId, status: 'SUCCEEDED', where: 'local' });
  });

  it.each([
    ['approve', 0, undefined],
    ['reject', 1, 'ApprovalRejectedError'],
  ])('waits for "stepops %s" from another shell', async (verb, exitCode, error) => {
    // Prepare
    const runId = `cli-${verb}-${Date.now()}`;
    const out = capture();

    // Act
    const running = runRecover({
      target: TARGET,
      runbook: 'wipe',
      output: out,
      interactive: false,
      executionName: runId,
    });
    await waitForApprovalFile(runId);
    const answer = await stepops(verb, runId, '--comment', 'from the test');
    const report = await running;

    // Assess
    expect(answer.code, answer.stderr).toBe(0);
    expect(answer.stdout).toContain('the waiting run continues');
    expect(report.exitCode).toBe(exitCode);
    expect(report.error).toBe(error);
    expect(out.text()).toContain(`stepops approve ${runId}`);
  });

  it('refuses an unknown run and a malformed run id with exit 2', async () => {
    // Act
    const unknown = await answerRun('no-such-run', 'approved', { output: capture() });
    const malformed = await answerRun('bad id!', 'approved', { output: capture() });

    // Assess
    expect(unknown).toBe(2);
    expect(malformed).toBe(2);
  });

  it.each([
    [['level=deep'], '--param level: expected a number, got "deep"'],
    [['depth=1'], '--param depth: runbook "wipe" has no parameter "depth" (parameters: level)'],
    [['level'], '--param level: expected name=value'],
  ])('exits 2 for --param %j before anything starts', async (params, message) => {
    // Prepare
    const out = capture();

    // Act
    const report = await runRecover({ target: TARGET, runbook: 'wipe', params, yes: true, output: out });

    // Assess
    expect(report.exitCode).toBe(2);
    expect(out.text()).toContain(message);
    expect(out.text()).not.toContain('plan');
  });

  it('exits 2 for an unknown runbook, naming the known ones', async () => {
    const out = capture();
    const report = await runRecover({ target: TARGET, runbook: 'nope', output: out });
    expect(report.exitCode).toBe(2);
    expect(out.text()).toContain('has no runbook "nope" (runbooks: wipe)');
  });

  it('types parameters by their declaration', () => {
    expect(parseParams(findTarget(TARGET), 'wipe', ['level=2'])).toEqual({ level: 2 });
  });
});
