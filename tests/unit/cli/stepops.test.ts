import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { reportError } from '../../../cli/output.ts';
import { ConfigError, PROJECT_ROOT, TARGETS_DIR } from '../../../shared/config/load.ts';
import { findTarget, listTargets } from '../../../shared/config/registry.ts';
import { planDeploy } from '../../../shared/deploy/plan.ts';
import { InvalidInputError } from '../../../shared/errors.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules/.bin/node');
const CLI = path.join(PROJECT_ROOT, 'cli/stepops.ts');
const dir = mkdtempSync(path.join(tmpdir(), 'stepops-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stepops(...args: string[]) {
  const result = spawnSync(NODE, [CLI, ...args], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Writes a copy of a real target file, importable from the temp dir, with some text replaced. */
function brokenCopy(name: string, file: string, replacements: [string, string][]): string {
  let source = readFileSync(path.join(TARGETS_DIR, `${name}.ts`), 'utf8').replaceAll(
    "'../shared/",
    `'${pathToFileURL(path.join(PROJECT_ROOT, 'shared')).href}/`,
  );
  for (const [from, to] of replacements) {
    expect(source).toContain(from);
    source = source.replace(from, to);
  }
  const target = path.join(dir, file);
  writeFileSync(target, source);
  return target;
}

function expectNoStackTrace(output: string): void {
  expect(output).not.toMatch(/^\s+at /m);
}

describe('stepops validate', () => {
  it('validates every target when none is named', () => {
    // Act
    const { code, stdout } = stepops('validate');

    // Assess
    expect(code).toBe(0);
    for (const name of listTargets()) expect(stdout).toContain(`✓ ${name}\n`);
  });

  it('validates only the named targets', () => {
    const { code, stdout } = stepops('validate', 'zmanim', 'shop');
    expect(code).toBe(0);
    expect(stdout).toBe('✓ zmanim\n✓ shop\n');
  });

  it('exits 2 for a broken copy, naming file and path of each error', () => {
    // Prepare
    const file = brokenCopy('datizmo', 'datizmo.ts', [
      [
        "{ name: 'migrate-database', script: migrate, timeout: 600, runOnce: true }",
        "{ name: 'migrate-database', script: migrate, timeout: -1, runOnce: true }",
      ],
      ["region: 'us-east-1',\n    tags", "region: 'Virginia',\n    tags"],
      ['minDaysLeft: 14', 'minDaysLeft: 0'],
    ]);

    // Act
    const { code, stdout, stderr } = stepops('validate', file, 'zmanim');

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('✓ zmanim\n');
    expect(stderr).toContain(
      `${file}: deploy.steps[2].timeout: expected a positive number of seconds, got -1\n`,
    );
    expect(stderr).toContain(
      `${file}: hosts.region: expected an AWS region such as "eu-west-1", got "Virginia"\n`,
    );
    expect(stderr).toContain(
      `${file}: health.probes[1].minDaysLeft: expected a positive whole number, got 0\n`,
    );
    expect(stderr).toContain('1 invalid target file, 3 problems; 1 valid');
    expectNoStackTrace(stderr);
  });

  it('exits 2 for an unknown target, listing the known ones', () => {
    const { code, stderr } = stepops('validate', 'nope');
    expect(code).toBe(2);
    expect(stderr).toMatch(/targets\/nope\.ts: no such target file \(known targets: ai-chat, datizmo/);
    expectNoStackTrace(stderr);
  });
});

describe('stepops plan deploy', () => {
  it.each(['ai-chat', 'datizmo', 'docsai', 'shop', 'zmanim'])('prints the real scripts of %s', (name) => {
    // Prepare
    const expected = planDeploy(findTarget(name), 'v1', 'plan-preview');

    // Act
    const { code, stdout } = stepops('plan', 'deploy', name, '--ref', 'v1');

    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain(expected.deployScript);
    expect(stdout).toContain(expected.rollbackScript);
    expect(stdout).toContain(expected.verifyScript);
    expect(stdout).toContain('verify script (every host, before any host changes, timeout 150 s)');
    expect(stdout).toContain('load balancer: none');
    expect(stdout).toMatch(/^hosts: ec2 instances tagged stepops:target=/m);
    expect(stdout).toContain('1 instance per batch, in the order the instances are found');
  });

  it('shows the batch split of hosts given by ids', () => {
    const { code, stdout } = stepops(
      'plan',
      'deploy',
      'tests/fixtures/targets/full.ts',
      '--ref',
      'release/2.0',
    );
    expect(code).toBe(0);
    expect(stdout).toContain('batch 1: i-0123456789abcdef0, i-0123456789abcdef1\n');
    expect(stdout).toContain(
      'load balancer: each batch leaves arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/full/0123456789abcdef (drained within 330 s) before it deploys, and joins again once healthy (within 300 s)',
    );
    expect(stdout).toContain('batch 2: i-0123456789abcdef2\n');
    expect(stdout).toContain(
      'snapshot before deploy: EBS snapshot of every volume of each host; RDS snapshot of full-db',
    );
    expect(stdout).toContain("export STEPOPS_REF='release/2.0'");
  });

  it('prints JSON with --json', () => {
    const { code, stdout } = stepops(
      'plan',
      'deploy',
      'zmanim',
      '--ref',
      'v2',
      '--json',
      '--run-id',
      'run-5',
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      target: 'zmanim',
      ref: 'v2',
      runId: 'run-5',
      hosts: { region: 'eu-west-1' },
    });
  });

  it.each([
    [['plan', 'deploy', 'shop'], 'plan deploy needs --ref <ref>'],
    [['plan', 'deploy', 'shop', '--ref', '$(reboot)'], 'ref "$(reboot)" is not a valid ref'],
    [['plan', 'deploy', 'shop', '--ref', '--force'], 'is not a valid ref'],
    [['plan', 'deploy', 'nope', '--ref', 'v1'], 'no such target file'],
    [['plan', 'upgrade', 'shop'], "'upgrade' is invalid for argument 'workflow'"],
    [['plan'], "missing required argument 'workflow'"],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('exits 2 on bad input: %j', (args, message) => {
    const { code, stdout, stderr } = stepops(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expectNoStackTrace(stderr);
  });

  it('exits 2 naming file and path for an invalid target file', () => {
    const file = brokenCopy('shop', 'shop.ts', [['size: 1, maxErrors: 0', "size: '0%', maxErrors: 0"]]);
    const { code, stderr } = stepops('plan', 'deploy', file, '--ref', 'v1');
    expect(code).toBe(2);
    expect(stderr).toBe(`${file}: deploy.batches.size: expected a percentage from 1% to 100%, got "0%"\n`);
  });
});

describe('stepops plan backup, health and recover', () => {
  it('prints the dump scripts with their S3 destination and the snapshot calls', () => {
    const { code, stdout } = stepops('plan', 'backup', 'shop');
    expect(code).toBe(0);
    // The bucket is not in shop's operations document: the plan shows it still to fill in.
    expect(stdout).toMatch(
      /export STEPOPS_DUMP_URI='s3:\/\/<unfilled: S3 bucket for shop'\\''s MongoDB dumps>\/dumps\/shop\/mongodb\/\d{8}T\d{6}Z'/,
    );
    expect(stdout).toContain('mongodump --archive --gzip');
    expect(stdout).toContain('job volumes (ebs-snapshot), schedule cron(30 2 * * ? *)');
    expect(stdout).toContain('ec2:CreateSnapshots');
  });

  it('prints every probe with its condition and the scripts of those on the host', () => {
    const { code, stdout } = stepops('plan', 'health', 'zmanim');
    expect(code).toBe(0);
    expect(stdout).toContain('health zmanim, schedule rate(1 minute)');
    expect(stdout).toContain(
      'GET https://zmanim.shtetl.io/backend/api/v1/health → status 200, body contains "healthy"',
    );
    expect(stdout).toContain('----- services script -----');
    expect(stdout).toContain('on failure: runbook restart-api by default');
    expect(stdout).toContain(
      '  api-health, api-local, services → runbook restart-api (at most every 30 min, 3 a day)',
    );
    expect(stdout).toContain('  tls-certificate, data-disk, instance-status, ssm-agent → alert only');
    expect(stdout).toContain('probe tls-certificate (tls, runs on prober; on failure: alert only)');
  });

  it('prints a runbook with its description, scripts and AWS actions', () => {
    const { code, stdout } = stepops('plan', 'recover', 'zmanim', '--runbook', 'instance-failure');
    expect(code).toBe(0);
    expect(stdout).toContain('EC2 failure: launch a new instance');
    expect(stdout).toContain(
      "ec2:AssociateAddress of Elastic IP <unfilled: Elastic IP allocation id of zmanim's instance>",
    );
    expect(stdout).toContain("sudo systemctl start postgresql redis zmanim-api'\n");
    expect(stdout).toContain('then verify: services, data-disk, api-local, api-health');
  });

  it('exits 2 without --runbook, listing the runbooks with their descriptions', () => {
    const { code, stderr } = stepops('plan', 'recover', 'shop');
    expect(code).toBe(2);
    expect(stderr).toContain('plan recover needs --runbook <name>; runbooks of shop:');
    expect(stderr).toContain('  elasticsearch-memory: Elasticsearch fails');
  });

  it('exits 2 for an unknown runbook', () => {
    const { code, stderr } = stepops('plan', 'recover', 'shop', '--runbook', 'pray');
    expect(code).toBe(2);
    expect(stderr).toContain('target "shop" has no runbook "pray" (runbooks: restart-service,');
  });
});

describe('reportError', () => {
  function capture() {
    const lines: string[] = [];
    return { lines, output: { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) } };
  }

  it('exits 1 on unexpected errors with one line and no stack trace', () => {
    const { lines, output } = capture();
    expect(reportError(new TypeError('boom'), output)).toBe(1);
    expect(lines).toEqual(['stepops: unexpected error: TypeError: boom']);
  });

  it('exits 2 on invalid input and config errors', () => {
    const { lines, output } = capture();
    expect(reportError(new InvalidInputError('bad ref'), output)).toBe(2);
    expect(reportError(new ConfigError([{ file: 'f.ts', path: 'name', message: 'bad' }]), output)).toBe(2);
    expect(lines).toEqual(['stepops: bad ref', 'f.ts: name: bad']);
  });
});
