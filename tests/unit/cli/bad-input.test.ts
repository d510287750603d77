/**
 * Bad input changes nothing and exits 2, for every command: each command line below runs the real
 * binary in a fresh directory, with no AWS credentials anywhere the SDK looks, and must exit 2,
 * say what is wrong on stderr, start nothing and leave nothing in the state directory (`.stepops/`
 * of that directory, where every command keeps its state).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules/.bin/node');
const CLI = path.join(PROJECT_ROOT, 'cli/stepops.ts');
const root = mkdtempSync(path.join(tmpdir(), 'stepops-bad-input-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An ec2 target of its own, with every kind of run, named by its path. */
const EC2_FILE = path.join(root, 'web.ts');
writeFileSync(
  EC2_FILE,
  `export default {
  name: 'web',
  description: 'an ec2 target operated from a laptop',
  hosts: { type: 'ec2', region: 'eu-west-1', instanceIds: ['i-0123456789abcdef0'], user: 'ubuntu', workingDirectory: '/opt/web' },
  deploy: {
    steps: [{ name: 'pull', script: 'git pull', timeout: 60 }],
    rollback: [{ name: 'back', script: 'git checkout -', timeout: 60 }],
    healthGate: { probes: ['up'], timeout: 30, interval: 5, successes: 1 },
  },
  health: { schedule: 'rate(5 minutes)', probes: [{ name: 'up', type: 'command', script: 'true' }] },
  backup: [{ name: 'disk', type: 'ebs-snapshot', schedule: 'rate(1 day)', retention: { count: 3 } }],
  recovery: {
    'restart-web': { description: 'Restart the web app', steps: [{ type: 'script', name: 'restart', script: 'true', timeout: 30 }] },
  },
};
`,
);

/** The files a command left in the state directory of `cwd`. */
function stateFiles(cwd: string): string[] {
  const home = path.join(cwd, '.stepops');
  if (!existsSync(home)) return [];
  return readdirSync(home, { recursive: true })
    .map(String)
    .filter((entry) => statSync(path.join(home, entry)).isFile());
}

/** Runs stepops in a fresh directory, as a user without AWS credentials would. */
async function stepops(args: readonly string[], extra: Record<string, string>) {
  const cwd = mkdtempSync(path.join(root, 'cwd-'));
  const home = path.join(cwd, 'user-home');
  const child = spawn(NODE, [CLI, ...args], {
    cwd,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      AWS_CONFIG_FILE: path.join(home, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      NO_COLOR: '1',
      CI: '1',
      // The repository's example targets, as a user's own targets directory would be found.
      STEPOPS_TARGETS_DIR: path.join(PROJECT_ROOT, 'targets'),
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, stderr, state: stateFiles(cwd) };
}

const NO_RUN = 'demo-0123456789abcdef';
const STAGE = { STEPOPS_STAGE: 'prod', AWS_REGION: 'eu-west-1' };
const AWS_TABLE = { STEPOPS_STATE_TABLE: 'stepops-prod-state' };

/** Command line, extra environment, what stderr must say. */
const CASES: [string, string[], Record<string, string>, RegExp][] = [
  // deploy
  ['deploy without --ref', ['deploy', 'demo'], {}, /deploy needs --ref <ref>/],
  [
    'deploy of a ref a shell would read as more',
    ['deploy', 'demo', '--ref', 'v2;id'],
    {},
    /is not a valid ref/,
  ],
  ['deploy of an unknown target', ['deploy', 'nope', '--ref', 'v2'], {}, /unknown target "nope"/],
  ['deploy of a directory', ['deploy', root, '--ref', 'v2'], {}, /is a directory: name a target/],
  ['deploy of a missing file', ['deploy', './nope.ts', '--ref', 'v2'], {}, /nope\.ts: no such target file/],
  [
    'deploy with an empty reason',
    ['deploy', 'demo', '--ref', 'v2', '--reason', ''],
    {},
    /--reason: expected a non-empty reason/,
  ],
  [
    'deploy with a two-line reason',
    ['deploy', 'demo', '--ref', 'v2', '--reason', 'a\nb'],
    {},
    /--reason: expected one line/,
  ],
  [
    'deploy with --stage and --local',
    ['deploy', 'demo', '--ref', 'v2', '--stage', 'prod', '--local'],
    {},
    /either --stage or --local/,
  ],
  [
    'deploy of a local target on a stage',
    ['deploy', 'demo', '--ref', 'v2', '--stage', 'prod'],
    {},
    /runs on local hosts/,
  ],
  [
    'deploy of an ec2 target on a stage without credentials',
    ['deploy', EC2_FILE, '--ref', 'v2', '--stage', 'prod'],
    { AWS_REGION: 'eu-west-1' },
    /no usable AWS credentials .*set AWS_PROFILE/,
  ],
  [
    'deploy of an ec2 target here without credentials',
    ['deploy', EC2_FILE, '--ref', 'v2', '--local'],
    STAGE,
    /no AWS credentials found .*nothing was started/,
  ],
  [
    'deploy of an ec2 target here without a stage',
    ['deploy', EC2_FILE, '--ref', 'v2'],
    {},
    /name the stage with --stage/,
  ],
  // backup
  [
    'backup of a job the target lacks',
    ['backup', 'demo', '--backup', 'nosuch'],
    {},
    /target "demo" has no backup "nosuch" \(backups: data, host\)/,
  ],
  [
    'backup with --restore-test and --freshness',
    ['backup', 'demo', '--restore-test', '--freshness'],
    {},
    /choose one of --restore-test and --freshness/,
  ],
  ['backup of a directory', ['backup', root], {}, /is a directory: name a target/],
  ['backup of a missing file', ['backup', '/nonexistent/web.ts'], {}, /no such target file/],
  [
    'backup with an empty reason',
    ['backup', 'demo', '--reason', ' '],
    {},
    /--reason: expected a non-empty reason/,
  ],
  [
    'backup of a local target on a stage',
    ['backup', 'demo', '--stage', 'prod'],
    {},
    /declares local hosts: it runs on the local engine only/,
  ],
  [
    'backup of an ec2 target here without credentials',
    ['backup', EC2_FILE],
    {},
    /has ec2 hosts.*no AWS credentials were found.*nothing was started/,
  ],
  [
    'restore test of a target that declares none',
    ['backup', EC2_FILE, '--restore-test'],
    {},
    /declares a restoreTest/,
  ],
  // recover
  ['recover without --runbook', ['recover', 'demo'], {}, /recover needs --runbook <name>/],
  [
    'recover with an unknown runbook',
    ['recover', 'demo', '--runbook', 'nosuch'],
    {},
    /has no runbook "nosuch" \(runbooks: restart-app\)/,
  ],
  [
    'recover with an empty reason',
    ['recover', 'demo', '--runbook', 'restart-app', '--reason', ''],
    {},
    /--reason: expected a non-empty reason/,
  ],
  [
    'recover with an undeclared parameter',
    ['recover', 'demo', '--runbook', 'restart-app', '--param', 'x=1'],
    {},
    /has no parameter "x"/,
  ],
  [
    'recover with a malformed instance',
    ['recover', EC2_FILE, '--runbook', 'restart-web', '--instance', 'i-1'],
    {},
    /--instance i-1: expected an instance id/,
  ],
  [
    'recover of a local target with an instance',
    ['recover', 'demo', '--runbook', 'restart-app', '--instance', 'i-0123456789abcdef0'],
    {},
    /runs on local hosts, not ec2 instances/,
  ],
  [
    'recover on a stage with --yes',
    ['recover', EC2_FILE, '--runbook', 'restart-web', '--stage', 'prod', '--yes'],
    {},
    /--yes answers a local run only/,
  ],
  [
    'recover of an ec2 target here without credentials',
    ['recover', EC2_FILE, '--runbook', 'restart-web'],
    {},
    /no AWS credentials were found.*nothing was started/,
  ],
  // health, health history (uptime), watch
  ['health of an unknown target', ['health', 'nope'], {}, /unknown target "nope"/],
  ['health of a local target on a stage', ['health', 'demo', '--stage', 'prod'], {}, /declares local hosts/],
  [
    'health on a malformed stage',
    ['health', EC2_FILE, '--stage', 'Prod!'],
    {},
    /--stage "Prod!": expected lowercase letters/,
  ],
  [
    'health of an ec2 target here without credentials',
    ['health', EC2_FILE],
    {},
    /no AWS credentials were found/,
  ],
  [
    'uptime over 0 days',
    ['uptime', 'demo', '--days', '0'],
    {},
    /--days 0: expected a whole number of days from 1 to 90/,
  ],
  ['uptime of an unknown probe', ['uptime', 'demo', '--probe', 'nosuch'], {}, /has no probe named "nosuch"/],
  [
    'health history of a local target on a stage',
    ['health', 'history', 'demo', '--stage', 'prod'],
    {},
    /target "demo" declares local hosts: its checks are recorded on this machine/,
  ],
  ['watch of an unknown target', ['watch', 'nope'], {}, /unknown target "nope"/],
  // approvals
  ['approve of something that is not a run id', ['approve', 'run 1'], {}, /"run 1" is not a run id/],
  ['approve of a run nobody waits on', ['approve', NO_RUN], {}, /no approval request for run/],
  ['reject of a run nobody waits on', ['reject', NO_RUN], {}, /no approval request for run/],
  [
    'approve on AWS without a region',
    ['approve', NO_RUN],
    AWS_TABLE,
    /set AWS_REGION to the stage's region.*nothing was answered/,
  ],
  [
    'approve on AWS without credentials',
    ['approve', NO_RUN],
    { ...AWS_TABLE, AWS_REGION: 'eu-west-1' },
    /no usable AWS credentials.*was not approved/,
  ],
  // reading commands
  ['backups of an unknown target', ['backups', 'nope'], {}, /unknown target "nope"/],
  [
    'backups of a job the target lacks',
    ['backups', 'demo', '--backup', 'nosuch'],
    {},
    /has no backup "nosuch"/,
  ],
  ['status of an unknown target', ['status', 'nope'], {}, /unknown target "nope"/],
  ['status on a malformed stage', ['status', '--stage', 'Prod!'], {}, /expected lowercase letters/],
  ['history of an unknown target', ['history', 'nope'], {}, /unknown target "nope"/],
  [
    'history of an unknown workflow',
    ['history', 'demo', '--workflow', 'nosuch'],
    {},
    /unknown workflow "nosuch"/,
  ],
  ['history of 0 runs', ['history', 'demo', '--limit', '0'], {}, /--limit 0: expected a whole number/],
  ['logs of an unknown run', ['logs', NO_RUN], {}, /no run "demo-0123456789abcdef" recorded locally/],
  ['logs with a bad line count', ['logs', NO_RUN, '--lines', 'x'], {}, /--lines x: expected a whole number/],
  ['follow of an unknown run', ['follow', NO_RUN], {}, /no run "demo-0123456789abcdef" recorded locally/],
  ['rollback of an unknown target', ['rollback', 'nope', '--yes'], {}, /unknown target "nope"/],
  ['rollback with nothing to roll back', ['rollback', 'demo', '--yes'], {}, /nothing to roll back from/],
  ['report over x days', ['report', 'demo', '--days', 'x'], {}, /--days x: expected a whole number/],
  [
    'report with a missing repository',
    ['report', 'demo', '--repo', '/nonexistent'],
    {},
    /--repo \/nonexistent: not a directory/,
  ],
  ['unlock of an unknown target', ['unlock', 'nope', '--yes'], {}, /unknown target "nope"/],
  // the model
  [
    'plan of an unknown workflow',
    ['plan', 'rollout', 'demo'],
    {},
    /Allowed choices are deploy, backup, health, recover, maintenance/,
  ],
  ['plan of a deploy without --ref', ['plan', 'deploy', 'demo'], {}, /plan deploy needs --ref/],
  [
    'plan of an unknown runbook',
    ['plan', 'recover', 'demo', '--runbook', 'nosuch'],
    {},
    /has no runbook "nosuch"/,
  ],
  ['graph of an unknown workflow', ['graph', 'rollout'], {}, /unknown workflow "rollout"/],
  ['validate of an unknown target', ['validate', 'nope'], {}, /no such target file/],
  [
    'validate on a malformed stage',
    ['validate', 'demo', '--stage', 'Prod!'],
    {},
    /stage "Prod!": expected lowercase letters/,
  ],
  [
    'validate of a local target for a stage',
    ['validate', 'demo', '--stage', 'prod'],
    {},
    /local hosts.*cannot run on stage prod/,
  ],
  // the demo and the program
  ['demo of an unknown part', ['demo', '--only', 'rollout'], {}, /unknown demo part "rollout"/],
  ['demo on a privileged port', ['demo', '--port', '80'], {}, /invalid demo port "80"/],
  ['an unknown command', ['run', 'deploy', 'demo'], {}, /unknown command 'run'/],
  ['an unknown option', ['deploy', 'demo', '--ref', 'v2', '--force'], {}, /unknown option '--force'/],
];

describe('bad input, on every command', () => {
  it.concurrent.each(CASES)('%s: exits 2, says why, records nothing', async (_case, args, env, message) => {
    // Act
    const result = await stepops(args, env);

    // Assess
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/unexpected error|^\s+at /m);
    expect(result.stdout).not.toMatch(/timeline|▸ /);
    expect(result.state).toEqual([]);
  });
});
