/**
 * The end of a long failing output reaches the alert on AWS, where SSM's GetCommandInvocation
 * returns only the first 24,000 characters of stdout and the first 8,000 of stderr: the rendered
 * script really runs with bash, SSM is mocked to return exactly those heads of what it printed, and
 * the run's notification must still show the failing step and its last lines.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import type { CommandSent } from '../../../shared/deploy/contracts.ts';
import type { DeployDeps } from '../../../shared/deploy/deps.ts';
import { summarizeDeploy } from '../../../shared/deploy/outcome.ts';
import { planDeploy } from '../../../shared/deploy/plan.ts';
import { describeBatchFailureStep } from '../../../shared/deploy/steps/describe-batch-failure.ts';
import { pollCommandStep } from '../../../shared/deploy/steps/poll-command.ts';
import { SsmCommandRunner } from '../../../shared/drivers/aws/ssm-command-runner.ts';
import type { Drivers } from '../../../shared/drivers/index.ts';

const ssm = mockClient(SSMClient);
const dir = mkdtempSync(path.join(tmpdir(), 'stepops-ssm-head-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  ssm.reset();
  clearRegisteredTargets();
});

const CAUSE =
  'ERROR: failed to solve: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1';
const HOST = { kind: 'ec2' as const, id: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' };

/** Runs a script with bash as the SSM agent would and returns what the process wrote. */
function runAsAgent(script: string): { stdout: string; stderr: string; code: number } {
  try {
    const stdout = execFileSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', maxBuffer: 1e8 });
    return { stdout, stderr: '', code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; status: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.status };
  }
}

describe('the failing step’s last lines on AWS', () => {
  it('reach the notification although SSM returns only the heads of stdout and stderr', async () => {
    // Prepare: a docker-compose-like build whose error comes after 300,000 characters of output.
    registerTarget({
      name: 'head-target',
      description: 'a long build that fails at the end',
      hosts: { type: 'ec2', region: 'eu-west-1', instanceIds: [HOST.id], workingDirectory: dir },
      deploy: {
        steps: [
          { name: 'pull', script: 'echo "Already up to date."', timeout: 30 },
          {
            name: 'build',
            script: `for i in $(seq 1 6000); do echo "#$i [backend 3/9] RUN npm ci ... downloading layer $i"; done\necho ${JSON.stringify(CAUSE)} >&2\nexit 1`,
            timeout: 60,
          },
        ],
        rollback: [{ name: 'revert', script: 'true', timeout: 30 }],
        healthGate: { probes: ['app'], timeout: 30, interval: 5, successes: 1 },
      },
      health: {
        schedule: 'rate(5 minutes)',
        probes: [{ name: 'app', type: 'http', url: 'http://127.0.0.1:1/health' }],
      },
    });
    const target = findTarget('head-target');
    const { deployScript } = planDeploy({ ...target, hosts: { type: 'local', directory: dir } }, 'v3', 'r1');
    const printed = runAsAgent(deployScript);
    expect(printed.stdout.length).toBeGreaterThan(300_000);
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      ResponseCode: printed.code,
      StandardOutputContent: printed.stdout.slice(0, 24_000),
      StandardErrorContent: printed.stderr.slice(0, 8_000),
    });
    const runner = new SsmCommandRunner();
    const deps: DeployDeps = {
      findTarget,
      driversFor: () => ({ commands: runner }) as unknown as Drivers,
      fallbackNotifier: () => ({ publish: async () => undefined }),
      now: () => Date.parse('2026-01-01T00:00:10Z'),
      sleep: async () => undefined,
    };
    const command: CommandSent = {
      commandId: 'cmd-1',
      phase: 'deploy',
      hosts: [HOST],
      sentAt: '2026-01-01T00:00:00.000Z',
      deadline: '2026-01-01T01:00:00.000Z',
    };

    // Act: the poll as the workflow runs it, then the batch's failure and the run's summary.
    const status = await pollCommandStep({ target: 'head-target', command }, deps, () => 60_000);
    const failed = describeBatchFailureStep({
      batch: { index: 0, hosts: [HOST] },
      failure: { WaitForDeploy: { Error: 'CommandFailedError', Cause: status } },
    });
    const summary = summarizeDeploy({
      plan: { target: 'head-target', ref: 'v3', runId: 'r1' },
      failures: { DeployBatches: { Error: failed.error, Cause: failed.cause } },
    });

    // Assess
    expect(status).toMatchObject({ status: 'failed', failures: [{ hostId: HOST.id, exitCode: 1 }] });
    const tail = status.failures[0]?.outputTail ?? '';
    expect(tail).toContain(CAUSE);
    expect(tail).toContain('downloading layer 6000');
    expect(tail.trimEnd().endsWith('==> step 2/2: build failed with exit code 1')).toBe(true);
    expect(summary.outputTail).toContain(CAUSE);
    expect(summary.cause).toContain(CAUSE);
  });
});
