/**
 * The maintenance recipes as the hosts run them: each rendered script run for real in bash, with the
 * system tools it calls (certbot, nginx, systemctl, apt-get, unattended-upgrade, dnf,
 * needs-restarting, docker, journalctl) as shims on PATH that log their arguments and answer as
 * the test says; `find` and `rm` are the real ones, on real files. Every root-only command goes
 * through `sudo -n` (a stand-in `sudo` on PATH logs it and runs it; without `-n` it answers as sudo
 * does when a rule needs a password), unless the hosts run the steps as root; `stepops check`
 * derives the sudoers rules from the same scripts. Every script passes shellcheck.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hostNeeds } from '../../../shared/check/needs.ts';
import { type Hosts, type MaintenanceStep, targetSchema } from '../../../shared/config/schema.ts';
import { maintenanceScript, RENEWED_MARKER, SSM_REBOOT_EXIT } from '../../../shared/recipes/maintenance.ts';
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
/** sudo as the run-as user meets it: `-n` with a NOPASSWD rule runs the command; without `-n`, a prompt. */
const SUDO = `#!/usr/bin/env bash
printf 'sudo %s\\n' "$*" >> "$SHIM_DIR/calls.log"
if [ "$1" != -n ]; then echo "sudo: a password is required" >&2; exit 1; fi
shift
exec "$@"
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
      cwd: root,
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, SHIM_DIR: root, ...env },
    });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The tools' own calls, in order (not the sudo that ran them). */
async function calls(): Promise<string[]> {
  return (await logged()).filter((line) => !line.startsWith('sudo '));
}

/** What ran through `sudo -n`, in order. */
async function rootCalls(): Promise<string[]> {
  return (await logged())
    .filter((line) => line.startsWith('sudo '))
    .map((line) => line.replace(/^sudo -n /, ''));
}

async function logged(): Promise<string[]> {
  const text = await readFile(path.join(root, 'calls.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-maintenance-'));
  bin = path.join(root, 'bin');
  await mkdir(bin);
  for (const tool of TOOLS) await writeFile(path.join(bin, tool), SHIM, { mode: 0o755 });
  await writeFile(path.join(bin, 'sudo'), SUDO, { mode: 0o755 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  for (const file of ['calls.log', 'renew-due', 'reboot-required', 'fail-nginx', RENEWED_MARKER]) {
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
    expect(log[0]).toMatch(/^certbot renew --non-interactive .*--deploy-hook touch -- /);
    expect(log.slice(1)).toEqual(['nginx -t', 'systemctl reload nginx']);
    // Every one of them as root, and the marker removed once reloaded
    expect(await rootCalls()).toEqual([
      `certbot renew --non-interactive --no-random-sleep-on-renew --deploy-hook touch -- '${RENEWED_MARKER}'`,
      'nginx -t',
      'systemctl reload nginx',
      `rm -f -- ${RENEWED_MARKER}`,
    ]);
    expect(existsSync(path.join(root, RENEWED_MARKER))).toBe(false);
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
    // The renewal stays marked: the next run checks and reloads again.
    expect(existsSync(path.join(root, RENEWED_MARKER))).toBe(true);
  });

  it('reloads Apache after apache2ctl configtest, and reloads nothing with reload: none', async () => {
    // Prepare
    await writeFile(path.join(root, 'renew-due'), '');
    await writeFile(path.join(bin, 'apache2ctl'), SHIM, { mode: 0o755 });

    // Act
    const apache = await bash(maintenanceScript(step({ type: 'certbot-renew', reload: 'apache2' })));
    const none = maintenanceScript(step({ type: 'certbot-renew', reload: 'none' }));

    // Assess
    expect(apache.code).toBe(0);
    expect((await rootCalls()).slice(1, 3)).toEqual(['apache2ctl configtest', 'systemctl reload apache2']);
    expect(none).not.toContain('--deploy-hook');
    expect(none).not.toContain('systemctl');
  });

  it('a run-as user without a NOPASSWD rule fails the step at the first root command, changing nothing', async () => {
    // Prepare: a sudo that needs a password, as for a user no rule names
    const strict = await mkdtemp(path.join(root, 'strict-'));
    await writeFile(
      path.join(strict, 'sudo'),
      '#!/usr/bin/env bash\necho "sudo: a password is required" >&2\nexit 1\n',
      {
        mode: 0o755,
      },
    );
    await writeFile(path.join(root, 'renew-due'), '');

    // Act
    const result = await bash(script, { PATH: `${strict}:${bin}:${process.env.PATH ?? ''}` });

    // Assess
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('a password is required');
    expect(await calls()).toEqual([]);
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
    expect(await rootCalls()).toEqual(['dnf -y upgrade --security']);
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
    expect(await rootCalls()).toEqual([
      'apt-get update -q',
      'env DEBIAN_FRONTEND=noninteractive unattended-upgrade --verbose',
    ]);
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
    expect(await rootCalls()).toEqual(await calls());
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
    // As the user, as the target's deploy runs compose
    expect(await rootCalls()).toEqual([]);
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
    expect(await rootCalls()).toEqual(['journalctl --disk-usage']);
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
    expect(await rootCalls()).toEqual(['journalctl --vacuum-time=14d']);
  });
});

describe("the recipes and the real targets' maintenance", () => {
  it('pass shellcheck', async () => {
    // Prepare
    const local = { type: 'local', directory: '.' } as const;
    const ec2 = (user: string) =>
      ({
        type: 'ec2',
        region: 'eu-west-1',
        tags: { App: 'm' },
        user,
        workingDirectory: "/srv/it's app",
      }) as const;
    const steps: [MaintenanceStep, Hosts][] = [
      ...[
        step({ type: 'certbot-renew' }),
        step({ type: 'certbot-renew', reload: 'none' }),
        step({ type: 'os-updates', manager: 'apt' }),
        step({ type: 'os-updates', manager: 'dnf', reboot: 'never' }),
        step({ type: 'docker-prune', system: true }),
        step({ type: 'docker-pull', composeFile: 'docker/compose.infrastructure.yaml' }),
        step({
          type: 'disk-cleanup',
          journalMaxAgeDays: 7,
          oldFiles: [{ directory: '/var/log/app', pattern: '*.gz', olderThanDays: 30 }],
        }),
      ].flatMap((s): [MaintenanceStep, Hosts][] => [
        [s, local],
        [s, ec2('ubuntu')],
        [s, ec2('root')],
      ]),
      ...['datizmo', 'docsai', 'shop', 'zmanim', 'ai-chat'].flatMap((name) => {
        const target = targetSchema.parse(filledTarget(name));
        return Object.values(target.maintenance ?? {}).flatMap((job) =>
          job.steps.map((s): [MaintenanceStep, Hosts] => [s, target.hosts]),
        );
      }),
    ];
    const dir = await mkdtemp(path.join(root, 'shellcheck-'));
    const files = await Promise.all(
      steps.map(async ([s, hosts], i) => {
        const file = path.join(dir, `${i}-${s.name}.sh`);
        await writeFile(file, `#!/usr/bin/env bash\nset -euo pipefail\n${maintenanceScript(s, hosts)}\n`);
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

describe('root-only commands and the sudoers rules `stepops check` derives', () => {
  const job = (user: string) =>
    targetSchema.parse({
      name: 'm',
      description: 'maintenance on ec2',
      hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: 'm' }, user, workingDirectory: '/srv/app' },
      maintenance: {
        all: {
          description: 'every recipe',
          schedule: 'cron(0 3 * * ? *)',
          steps: [
            { type: 'certbot-renew', name: 'certs' },
            { type: 'os-updates', name: 'apt', manager: 'apt' },
            { type: 'os-updates', name: 'dnf', manager: 'dnf' },
            { type: 'docker-prune', name: 'images', olderThanHours: 48, system: true },
            { type: 'disk-cleanup', name: 'journal', journalMaxAgeDays: 7 },
          ],
        },
      },
    });

  it('lists every root-only command of the recipes, as the run-as user runs it with sudo', () => {
    // Act
    const needs = hostNeeds(job('ubuntu'));

    // Assess: written out here, not computed by the recipes
    expect(needs.sudo.map((n) => [n.runAs, n.argv.join(' ')])).toEqual([
      [
        undefined,
        "certbot renew --non-interactive --no-random-sleep-on-renew --deploy-hook touch -- '/srv/app/.stepops-certbot-renewed'",
      ],
      [undefined, 'nginx -t'],
      [undefined, 'systemctl reload nginx'],
      [undefined, 'rm -f -- /srv/app/.stepops-certbot-renewed'],
      [undefined, 'apt-get update -q'],
      [undefined, 'env DEBIAN_FRONTEND=noninteractive unattended-upgrade --verbose'],
      [undefined, 'dnf -y upgrade --security'],
      [undefined, 'docker image prune --all --force --filter until=48h'],
      [undefined, 'docker system prune --all --force --filter until=48h'],
      [undefined, 'journalctl --disk-usage'],
      [undefined, 'journalctl --vacuum-time=7d'],
    ]);
    expect(needs.sudo[1]?.usedBy).toEqual(['maintenance.all.certs']);
  });

  it('needs no sudo when the hosts run the steps as root', () => {
    // Act
    const target = job('root');
    const needs = hostNeeds(target);

    // Assess
    expect(needs.sudo).toEqual([]);
    for (const s of target.maintenance?.all?.steps ?? []) {
      expect(maintenanceScript(s, target.hosts)).not.toContain('sudo');
    }
  });
});
