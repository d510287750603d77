/**
 * The maintenance recipes as the hosts run them: each rendered script run for real in bash, with the
 * system tools it calls (certbot, nginx, systemctl, apt-get, unattended-upgrade, dnf,
 * needs-restarting, docker, journalctl) as shims on PATH that log their arguments and answer as
 * the test says; `find` and `rm` are the real ones, on real files. Every script passes shellcheck.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MaintenanceStep, targetSchema } from '../../../shared/config/schema.ts';
import { maintenanceScript, SSM_REBOOT_EXIT } from '../../../shared/recipes/maintenance.ts';
import { filledTarget } from '../../fixtures/filled-targets.ts';
import { shellcheck } from '../../helpers/shellcheck.ts';

const run = promisify(execFile);

/** Logs `tool args`; answers from files in $SHIM_DIR the test writes. */
const SHIM = `#!/usr/bin/env bash
name=$(basename "$0")
printf '%s %s\\n' "$name" "$*" >> "$SHIM_DIR/calls.log"
if [ -e "$SHIM_DIR/fail-$name" ]; then echo "$name: simulated failure" >&2; exit 1; fi
case "$name" in
  certbot)
    # A renewal runs the --deploy-hook once per renewed certificate.
    if [ -e "$SHIM_DIR/renew-due" ]; then
      while [ $# -gt 0 ]; do
        if [ "$1" = --deploy-hook ]; then bash -c "$2"; fi
        shift
      done
    fi ;;
  needs-restarting) if [ -e "$SHIM_DIR/reboot-required" ]; then exit 1; fi ;;
  journalctl) echo "Archived and active journals take up 1.2G in the file system." ;;
esac
exit 0
`;
const TOOLS = [
  'certbot',
  'nginx',
  'systemctl',
  'apt-get',
  'unattended-upgrade',
  'dnf',
  'needs-restarting',
  'docker',
  'journalctl',
];

let root: string;
let bin: string;

function step(input: Record<string, unknown>): MaintenanceStep {
  const target = targetSchema.parse({
    name: 'm',
    description: 'maintenance recipe test',
    hosts: { type: 'local', directory: '.' },
    maintenance: {
      job: { description: 'test job', schedule: 'cron(0 3 * * ? *)', steps: [{ name: 's', ...input }] },
    },
  });
  return target.maintenance!.job!.steps[0]!;
}

async function bash(script: string, env: Record<string, string> = {}) {
  try {
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, SHIM_DIR: root, ...env },
    });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function calls(): Promise<string[]> {
  const text = await readFile(path.join(root, 'calls.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-maintenance-'));
  bin = path.join(root, 'bin');
  await mkdir(bin);
  for (const tool of TOOLS) await writeFile(path.join(bin, tool), SHIM, { mode: 0o755 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  for (const file of ['calls.log', 'renew-due', 'reboot-required', 'fail-nginx']) {
    await rm(path.join(root, file), { force: true });
  }
});

describe('certbot-renew', () => {
  const script = maintenanceScript(step({ type: 'certbot-renew' }));

  it('reloads Nginx, after checking its configuration, only when a certificate was renewed', async () => {
    // Prepare
    await writeFile(path.join(root, 'renew-due'), '');

    // Act
    const result = await bash(script);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('renewed: nginx reloaded');
    const log = await calls();
    expect(log[0]).toMatch(/^certbot renew --non-interactive .*--deploy-hook touch /);
    expect(log.slice(1)).toEqual(['nginx -t', 'systemctl reload nginx']);
  });

  it('reloads nothing when no certificate was due', async () => {
    // Act
    const result = await bash(script);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('no certificate was due: nothing reloaded');
    expect((await calls()).filter((c) => !c.startsWith('certbot '))).toEqual([]);
  });

  it('fails, without reloading, when the renewed configuration does not pass nginx -t', async () => {
    // Prepare
    await writeFile(path.join(root, 'renew-due'), '');
    await writeFile(path.join(root, 'fail-nginx'), '');

    // Act
    const result = await bash(script);

    // Assess
    expect(result.code).not.toBe(0);
    expect(await calls()).not.toContain('systemctl reload nginx');
  });
});

describe('os-updates', () => {
  it('dnf: security updates, then exit 194 for the SSM agent to reboot when needs-restarting asks', async () => {
    // Prepare
    await writeFile(path.join(root, 'reboot-required'), '');

    // Act
    const result = await bash(maintenanceScript(step({ type: 'os-updates', manager: 'dnf' })));

    // Assess
    expect(result.code).toBe(SSM_REBOOT_EXIT);
    expect(await calls()).toEqual(['dnf -y upgrade --security', 'needs-restarting -r']);
  });

  it('dnf: no reboot when none is required (the step run again after the reboot ends here)', async () => {
    // Act
    const result = await bash(maintenanceScript(step({ type: 'os-updates', manager: 'dnf' })));

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('no reboot required');
  });

  it('apt: unattended-upgrade applies the security origin; /var/run/reboot-required decides the reboot', async () => {
    // Act
    const result = await bash(maintenanceScript(step({ type: 'os-updates', manager: 'apt' })));

    // Assess
    expect(await calls()).toEqual(['apt-get update -q', 'unattended-upgrade --verbose']);
    expect(result.code).toBe(existsSync('/var/run/reboot-required') ? SSM_REBOOT_EXIT : 0);
  });

  it('reboot: never leaves the reboot to the operator', async () => {
    // Prepare
    await writeFile(path.join(root, 'reboot-required'), '');

    // Act
    const result = await bash(
      maintenanceScript(step({ type: 'os-updates', manager: 'dnf', reboot: 'never' })),
    );

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('left to the operator');
  });
});

describe('docker-prune and docker-pull', () => {
  it('prunes images, and the whole system when asked, older than the age filter', async () => {
    // Act
    const result = await bash(
      maintenanceScript(step({ type: 'docker-prune', olderThanHours: 72, system: true })),
    );

    // Assess
    expect(result.code).toBe(0);
    expect(await calls()).toEqual([
      'docker image prune --all --force --filter until=72h',
      'docker system prune --all --force --filter until=72h',
    ]);
  });

  it('pulls the compose file images and recreates the services on them', async () => {
    // Act
    await bash(maintenanceScript(step({ type: 'docker-pull', composeFile: 'docker-compose.yml' })));

    // Assess
    expect(await calls()).toEqual([
      'docker compose -f docker-compose.yml pull --ignore-buildable --quiet',
      'docker compose -f docker-compose.yml up -d',
      'docker compose -f docker-compose.yml ps',
    ]);
  });
});

describe('disk-cleanup', () => {
  let logs: string;
  const old = Date.now() / 1000 - 40 * 86400;

  beforeEach(async () => {
    logs = await mkdtemp(path.join(root, 'logs-'));
    for (const file of ['app.log.1', 'app.log.2', 'app.log']) await writeFile(path.join(logs, file), 'x');
    await utimes(path.join(logs, 'app.log.1'), old, old);
    await utimes(path.join(logs, 'app.log'), old, old);
  });

  const cleanup = (dryRun: boolean) =>
    maintenanceScript(
      step({
        type: 'disk-cleanup',
        journalMaxAgeDays: 14,
        oldFiles: [{ directory: '/placeholder', pattern: 'app.log.*', olderThanDays: 30 }],
        dryRun,
      }),
    );

  it('dry run: prints what it would delete and deletes nothing', async () => {
    // Act
    const result = await bash(cleanup(true).replaceAll('/placeholder', logs));

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`would delete: ${logs}/app.log.1`);
    expect(result.stdout).not.toContain('app.log.2');
    expect(result.stdout).toContain('would vacuum the journal to 14 days');
    expect(existsSync(path.join(logs, 'app.log.1'))).toBe(true);
    expect(await calls()).toEqual(['journalctl --disk-usage']);
  });

  it('deletes only the old files matching the pattern, and vacuums the journal', async () => {
    // Act
    const result = await bash(cleanup(false).replaceAll('/placeholder', logs));

    // Assess
    expect(result.code).toBe(0);
    expect(existsSync(path.join(logs, 'app.log.1'))).toBe(false);
    expect(existsSync(path.join(logs, 'app.log.2'))).toBe(true); // recent
    expect(existsSync(path.join(logs, 'app.log'))).toBe(true); // old, but not matching
    expect(await calls()).toEqual(['journalctl --vacuum-time=14d']);
  });
});

describe("the recipes and the real targets' maintenance", () => {
  it('pass shellcheck', async () => {
    // Prepare
    const steps = [
      step({ type: 'certbot-renew' }),
      step({ type: 'os-updates', manager: 'apt' }),
      step({ type: 'os-updates', manager: 'dnf', reboot: 'never' }),
      step({ type: 'docker-prune', system: true }),
      step({ type: 'docker-pull', composeFile: 'docker/compose.infrastructure.yaml' }),
      step({
        type: 'disk-cleanup',
        journalMaxAgeDays: 7,
        oldFiles: [{ directory: '/var/log/app', pattern: '*.gz', olderThanDays: 30 }],
      }),
      ...['datizmo', 'docsai', 'shop', 'zmanim', 'ai-chat'].flatMap((name) =>
        Object.values(targetSchema.parse(filledTarget(name)).maintenance ?? {}).flatMap((job) => job.steps),
      ),
    ];
    const dir = await mkdtemp(path.join(root, 'shellcheck-'));
    const files = await Promise.all(
      steps.map(async (s, i) => {
        const file = path.join(dir, `${i}-${s.name}.sh`);
        await writeFile(file, `#!/usr/bin/env bash\nset -euo pipefail\n${maintenanceScript(s)}\n`);
        return file;
      }),
    );

    // Act
    const { findings } = await shellcheck({ files, format: 'gcc' });

    // Assess
    expect(findings).toBe('');
  });

  it("refuses a probe name the target does not have in a job's gate or mute list", () => {
    // Act
    const result = targetSchema.safeParse({
      name: 'm',
      description: 'x',
      hosts: { type: 'local', directory: '.' },
      health: {
        schedule: 'rate(5 minutes)',
        probes: [{ name: 'site', type: 'http', url: 'https://example.com/' }],
      },
      maintenance: {
        certs: {
          description: 'renew',
          schedule: 'cron(0 3 * * ? *)',
          steps: [{ type: 'certbot-renew', name: 'renew' }],
          healthGate: ['site'],
          mute: ['tls'],
        },
      },
    });

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['maintenance.certs.mute.0', 'no health probe named "tls"'],
    ]);
  });
});
