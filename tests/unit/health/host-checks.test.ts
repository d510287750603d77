/**
 * Host checks declared by kind, run for real with bash through the local command runner. systemd
 * and Docker answer through stand-ins on PATH that print what `systemctl is-active` and
 * `docker inspect` print on real hosts (recorded output shapes and exit codes); `df` answers with
 * a recorded `df -P` table; memory is read from this machine's real /proc/meminfo.
 */

import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSchema } from '../../../shared/config/schema.ts';
import { BashCommandRunner } from '../../../shared/drivers/local/bash-command-runner.ts';
import type { HostRef } from '../../../shared/drivers/ports.ts';
import {
  type HostSideProbe,
  renderHostProbeBatch,
  runHostProbes,
} from '../../../shared/health/host-probes.ts';
import { shellcheck } from '../../helpers/shellcheck.ts';

let root: string;
let host: HostRef;
let runner: BashCommandRunner;
const previousHome = process.env.STEPOPS_HOME;

/** `systemctl is-active <unit>` as systemd 252 answers: the state on stdout, exit 0 only when active. */
const SYSTEMCTL = `#!/usr/bin/env bash
[ "$1" = is-active ] || exit 64
shift; [ "$1" = -- ] && shift
case "$1" in
  nginx|nginx.service) echo active; exit 0 ;;
  gunicorn.socket) echo active; exit 0 ;;
  gunicorn.service) echo failed; exit 3 ;;
  zmanim-api) echo activating; exit 3 ;;
  *) echo inactive; exit 3 ;;
esac
`;

/** \`docker inspect --format '{{.State.Status}} {{…Health…}}' -- <name>\` as Docker 27 answers. */
const DOCKER = `#!/usr/bin/env bash
[ "$1" = inspect ] || exit 64
name=\${!#}
case "$name" in
  ai-chat-server-1) echo 'running none' ;;
  mongo) echo 'running healthy' ;;
  qdrant) echo 'running starting' ;;
  elasticsearch) echo 'running unhealthy' ;;
  minio) echo 'exited none' ;;
  *) echo "Error: No such object: $name" >&2; echo; exit 1 ;;
esac
`;

/** \`df -P /data\` on an Amazon Linux host with a nearly full data volume. */
const DF = `#!/usr/bin/env bash
cat <<'TABLE'
Filesystem     1024-blocks     Used Available Capacity Mounted on
/dev/nvme1n1      20511312 19075676    371116      99% /data
TABLE
`;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-host-checks-'));
  process.env.STEPOPS_HOME = path.join(root, 'home');
  const bin = path.join(root, 'bin');
  await mkdir(bin, { recursive: true });
  for (const [name, script] of Object.entries({ systemctl: SYSTEMCTL, docker: DOCKER, df: DF })) {
    await writeFile(path.join(bin, name), script);
    await chmod(path.join(bin, name), 0o755);
  }
  host = { kind: 'local', id: 'local:host', directory: root };
  runner = new BashCommandRunner({ env: { PATH: `${bin}:${process.env.PATH}` } });
});
afterAll(async () => {
  if (previousHome === undefined) delete process.env.STEPOPS_HOME;
  else process.env.STEPOPS_HOME = previousHome;
  await rm(root, { recursive: true, force: true });
});

const probe = (fields: Record<string, unknown>) => probeSchema.parse(fields) as HostSideProbe;
const run = (probes: HostSideProbe[]) =>
  runHostProbes(probes, [host], runner, { target: 't', pollIntervalMs: 50 });

describe('host checks by kind', () => {
  it('checks systemd units, Docker containers, disk and memory in one command, saying what it saw', async () => {
    // Act
    const results = await run([
      probe({ name: 'web-units', type: 'systemd', units: ['nginx', 'gunicorn.socket'] }),
      probe({ name: 'app-units', type: 'systemd', units: ['nginx', 'gunicorn.service', 'zmanim-api'] }),
      probe({ name: 'chat', type: 'docker', containers: ['ai-chat-server-1', 'mongo'] }),
      probe({ name: 'search', type: 'docker', containers: ['qdrant', 'elasticsearch', 'minio', 'kibana'] }),
      probe({ name: 'starting-ok', type: 'docker', containers: ['qdrant'], requireHealthy: false }),
      probe({ name: 'data-disk', type: 'disk', mount: '/data', maxUsedPercent: 90 }),
      probe({ name: 'data-disk-lenient', type: 'disk', mount: '/data', maxUsedPercent: 99 }),
      probe({ name: 'memory', type: 'memory', maxUsedPercent: 100 }),
      probe({ name: 'memory-strict', type: 'memory', maxUsedPercent: 1 }),
    ]);

    // Assess
    expect(results.map((r) => [r.probe, r.ok, r.detail])).toEqual([
      ['web-units', true, 'exit code 0: active: nginx, gunicorn.socket'],
      ['app-units', false, 'exit code 1, expected 0: gunicorn.service is failed, zmanim-api is activating'],
      ['chat', true, 'exit code 0: running: ai-chat-server-1, mongo'],
      [
        'search',
        false,
        'exit code 1, expected 0: qdrant is starting, elasticsearch is unhealthy, minio is exited, kibana is missing',
      ],
      ['starting-ok', true, 'exit code 0: running: qdrant'],
      ['data-disk', false, 'exit code 1, expected 0: /data is 99% full (limit 90%)'],
      ['data-disk-lenient', true, 'exit code 0: /data is 99% full (limit 99%)'],
      ['memory', true, expect.stringMatching(/^exit code 0: memory \d+% used \(limit 100%\)$/)],
      [
        'memory-strict',
        false,
        expect.stringMatching(/^exit code 1, expected 0: memory \d+% used \(limit 1%\)$/),
      ],
    ]);
  });

  it('renders every kind into a batch that passes shellcheck', async () => {
    // Prepare
    const batch = renderHostProbeBatch(
      [
        probe({ name: 'units', type: 'systemd', units: ['nginx', 'gunicorn.socket'] }),
        probe({ name: 'containers', type: 'docker', containers: ['mongo'], requireHealthy: false }),
        probe({ name: 'disk', type: 'disk', mount: '/data', maxUsedPercent: 90 }),
        probe({ name: 'memory', type: 'memory', maxUsedPercent: 90 }),
      ],
      { target: 't', workingDirectory: '/opt/app', user: 'ubuntu' },
    );

    // Act
    const check = await shellcheck({ script: batch.script });

    // Assess
    expect(check.findings).toBe('');
    expect(check.code).toBe(0);
  });

  it('refuses unit and container names a shell could read as more', () => {
    expect(probeSchema.safeParse({ name: 'u', type: 'systemd', units: ['nginx; rm -rf /'] }).success).toBe(
      false,
    );
    expect(probeSchema.safeParse({ name: 'd', type: 'docker', containers: ['-v'] }).success).toBe(false);
    expect(
      probeSchema.safeParse({ name: 'm', type: 'disk', mount: 'data', maxUsedPercent: 90 }).success,
    ).toBe(false);
    expect(probeSchema.safeParse({ name: 'm', type: 'memory', maxUsedPercent: 0 }).success).toBe(false);
  });
});
