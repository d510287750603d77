/**
 * `stepops deploy` of an ec2 target through the real binary, with the AWS SDK's own credential
 * chain finding nothing (no variables, no ~/.aws files, no instance metadata): exit 2, naming the
 * variables to set, and nothing started (no lease, no run recorded, no command).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules/.bin/node');
const CLI = path.join(PROJECT_ROOT, 'cli/stepops.ts');
const root = mkdtempSync(path.join(tmpdir(), 'stepops-run-creds-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An ec2 target in a file of its own (run takes a path, as plan does). */
const TARGET_FILE = path.join(root, 'creds-web.ts');
writeFileSync(
  TARGET_FILE,
  `export default {
  name: 'creds-web',
  description: 'an ec2 target deployed from a laptop',
  hosts: { type: 'ec2', region: 'eu-west-1', instanceIds: ['i-0123456789abcdef0'], user: 'ubuntu', workingDirectory: '/opt/web' },
  deploy: {
    steps: [{ name: 'pull', script: 'git pull', timeout: 60 }],
    rollback: [{ name: 'back', script: 'git checkout -', timeout: 60 }],
    healthGate: { probes: ['up'], timeout: 30, interval: 5, successes: 1 },
  },
  health: { schedule: 'rate(5 minutes)', probes: [{ name: 'up', type: 'command', script: 'true' }] },
};
`,
);

/** Runs stepops with no AWS credentials anywhere the SDK's chain looks; extra variables on top. */
function stepops(args: string[], extra: Record<string, string> = {}) {
  const home = mkdtempSync(path.join(root, 'home-'));
  const stepopsHome = path.join(home, '.stepops');
  const result = spawnSync(NODE, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: home,
      STEPOPS_HOME: stepopsHome,
      AWS_CONFIG_FILE: path.join(home, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      NO_COLOR: '1',
      ...extra,
    },
    timeout: 60_000,
  });
  const state = existsSync(stepopsHome) ? readdirSync(stepopsHome, { recursive: true }).map(String) : [];
  return { code: result.status, stderr: result.stderr, stdout: result.stdout, state };
}

describe('stepops deploy of an ec2 target without AWS credentials', () => {
  it('on the stage (--stage): exits 2 naming AWS_PROFILE and AWS_REGION, and starts nothing', () => {
    // Act
    const result = stepops(['deploy', TARGET_FILE, '--ref', 'v1', '--stage', 'prod'], {
      AWS_REGION: 'eu-west-1',
    });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepops: no usable AWS credentials \(.+\): set AWS_PROFILE/m);
    expect(result.stderr).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_REGION');
    expect(result.state).toEqual([]);
    expect(result.stdout).toBe('');
  });

  it('here (--local) under the lease of the stage STEPOPS_STAGE names: exits 2 naming AWS_PROFILE and AWS_REGION, and starts nothing', () => {
    // Act
    const result = stepops(['deploy', TARGET_FILE, '--ref', 'v1', '--local'], {
      STEPOPS_STAGE: 'prod',
      AWS_REGION: 'eu-west-1',
    });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepops: no AWS credentials found \(.+\): set AWS_PROFILE/m);
    expect(result.stderr).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_REGION');
    expect(result.stderr).toContain("the stage's table stepops-prod-state");
    expect(result.stderr).toContain('nothing was started');
    // No lease taken, no run recorded, no command started, here or anywhere.
    expect(result.state).toEqual([]);
    expect(result.stdout).not.toContain('PlanDeploy');
  });
});
