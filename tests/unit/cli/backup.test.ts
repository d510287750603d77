/**
 * `stepops run backup` and `stepops backups` on the local engine, against a local target in a
 * temporary directory, and the demo's backup part.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import {
  formatAge,
  formatCatalogue,
  listBackups,
  runBackup,
  runBackupDemo,
} from '../../../cli/commands/backup.ts';
import { history } from '../../../cli/commands/history.ts';
import type { Output } from '../../../cli/output.ts';
import { formatBytes } from '../../../cli/runs/style.ts';
import { labTarget } from '../../../lab/target.ts';
import { backupLeaseKey } from '../../../shared/backup/lease.ts';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import { FileLeaseStore } from '../../../shared/drivers/local/file-lease-store.ts';

let root: string;

function capture(): Output & { text: () => string; errors: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    text: () => out.join('\n'),
    errors: () => err.join('\n'),
  };
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-cli-backup-'));
  process.env.STEPOPS_HOME = path.join(root, 'home');
  await mkdir(path.join(root, 'host', 'data'), { recursive: true });
  await writeFile(path.join(root, 'host', 'data', 'a.txt'), 'a\n');
  registerTarget({
    name: 'cli-bk',
    description: 'cli backup test',
    hosts: { type: 'local', directory: path.join(root, 'host') },
    backup: [
      {
        name: 'data',
        type: 'dump',
        script: 'tar -C data -czf "$STEPOPS_DUMP_FILE" .',
        timeout: 30,
        bucket: 'cli-backups',
        schedule: 'rate(1 day)',
        retention: { count: 1 },
      },
    ],
  });
});
afterAll(async () => {
  clearRegisteredTargets();
  await rm(root, { recursive: true, force: true });
});

describe('stepops run backup', () => {
  it('takes the backup, prints each job and its prune, exit 0; a dry run after it shows what it would delete', async () => {
    // Prepare
    const out = capture();
    await runBackup({ target: 'cli-bk', output: out, interactive: false });

    // Act
    const second = await runBackup({ target: 'cli-bk', output: out, interactive: false });
    const dry = capture();
    const preview = await runBackup({ target: 'cli-bk', dryRun: true, output: dry, interactive: false });

    // Assess
    expect(second.exitCode).toBe(0);
    expect(out.text()).toMatch(/data: good → file:\/\/.*cli-backups\/cli-bk\/data\//);
    expect(out.text()).toMatch(/deleted cli-bk-[0-9a-f]+: beyond the retention/);
    expect(preview.exitCode).toBe(0);
    expect(dry.text()).toContain('backup (dry run) cli-bk on the local engine');
    expect(dry.text()).toContain('data: dry-run');
    expect(dry.text()).toContain('kept 1');
  });

  it('records the local run, so that history --workflow backup lists it', async () => {
    // Prepare
    const listed = capture();

    // Act
    const report = await runBackup({ target: 'cli-bk', output: capture(), interactive: false });
    const code = await history('cli-bk', { workflow: 'backup', json: true }, { output: listed, env: {} });

    // Assess
    expect(report.exitCode).toBe(0);
    expect(code).toBe(0);
    const { runs } = JSON.parse(listed.text()) as {
      runs: { runId: string; status: string; where: string }[];
    };
    expect(runs[0]).toMatchObject({ runId: report.executionName, status: 'SUCCEEDED', where: 'local' });
  });

  it('refuses a backup the target lacks, and an unknown target, with exit 2', async () => {
    // Prepare
    const out = capture();
    const err = capture();

    // Act
    const unknownBackup = await runBackup({
      target: 'cli-bk',
      backup: 'nope',
      output: out,
      interactive: false,
    });
    const unknownTarget = await runBackup({ target: 'no-such-target', output: err, interactive: false });

    // Assess
    expect(unknownBackup.exitCode).toBe(2);
    expect(out.errors()).toContain('target "cli-bk" has no backup "nope" (backups: data)');
    // Refused before it started: no run recorded, no alert.
    expect(unknownBackup.executionName).toBeUndefined();
    expect(unknownTarget.exitCode).toBe(2);
    expect(err.errors()).toContain('no-such-target');
  });

  it('releases the job lease of a run aborted mid-dump, so that the next run is not refused', async () => {
    // Prepare: a dump that waits until the test has aborted the run
    const gate = path.join(root, 'abort-gate');
    registerTarget({
      name: 'cli-bk-abort',
      description: 'cli backup abort test',
      hosts: { type: 'local', directory: path.join(root, 'host') },
      backup: [
        {
          name: 'data',
          type: 'dump',
          script: `while [ ! -e ${gate} ]; do sleep 0.05; done; tar -C data -czf "$STEPOPS_DUMP_FILE" .`,
          timeout: 60,
          bucket: 'cli-backups',
          schedule: 'rate(1 day)',
          retention: { count: 1 },
        },
      ],
    });
    const leases = new FileLeaseStore();
    const key = backupLeaseKey('cli-bk-abort', 'data');
    const out = capture();

    // Act
    const aborted = await runBackup({
      target: 'cli-bk-abort',
      output: out,
      interactive: false,
      onStart: (execution) => {
        void (async () => {
          while (!(await leases.holder(key))) await new Promise((resolve) => setTimeout(resolve, 20));
          execution.abort();
        })();
      },
    });
    await writeFile(gate, '');
    const next = await runBackup({ target: 'cli-bk-abort', output: capture(), interactive: false });

    // Assess
    expect(aborted.exitCode).toBe(1);
    expect(out.text()).toContain('run aborted: released the backup lease of data');
    expect(next.exitCode, next.cause).toBe(0);
    expect(await leases.holder(key)).toBeUndefined();
  });
});

describe('stepops backups', () => {
  it('lists the catalogue with age, size and restore test; --all includes pruned copies', async () => {
    // Prepare
    const out = capture();
    const all = capture();

    // Act
    const code = await listBackups('cli-bk', {}, out);
    await listBackups('cli-bk', { all: true }, all);

    // Assess
    expect(code).toBe(0);
    const lines = out.text().split('\n');
    expect(lines[0]).toMatch(/^backup\s+outcome\s+age\s+size\s+restore test\s+run\s+where$/);
    expect(lines.slice(1).every((l) => /^data\s+good\s+\d+ min\s+\d+ B\s+-\s+cli-bk-/.test(l))).toBe(true);
    expect(all.text()).toContain('deleted');
  });

  it('refuses a backup the target lacks (exit 2)', async () => {
    // Prepare
    const out = capture();

    // Act
    const code = await listBackups('cli-bk', { backup: 'nope' }, out);

    // Assess
    expect(code).toBe(2);
    expect(out.errors()).toContain('target "cli-bk" has no backup "nope" (backups: data)');
  });

  it('formats sizes, ages and restore tests for people', () => {
    // Assess
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(undefined)).toBe('-');
    expect(formatAge(90 * 60_000)).toBe('1.5 h');
    expect(formatAge(3 * 86_400_000)).toBe('3 d');
    const now = Date.parse('2026-01-02T00:00:00Z');
    const [, row] = formatCatalogue(
      [
        {
          target: 't',
          backup: 'db',
          runId: 'r1',
          kind: 'dump',
          location: 's3://b/k',
          resources: [],
          sizeBytes: 2048,
          startedAt: '2026-01-01T00:00:00Z',
          outcome: 'good',
          restoreTest: { at: '2026-01-01T12:00:00Z', ok: false, detail: 'x', runId: 'r2' },
        },
      ],
      now,
    );
    expect(row).toMatch(/^db\s+good\s+1 d\s+2\.0 KB\s+FAILED 12 h ago\s+r1\s+s3:\/\/b\/k$/);
  });
});

describe('the demo backup part', () => {
  it('backs up three times, prunes the oldest copies and passes its restore test', async () => {
    // Prepare: the lab's host directory, and the demo target pointing at it
    const lab = path.join(root, 'lab');
    await mkdir(path.join(lab, 'host'), { recursive: true });
    registerTarget(labTarget({ name: 'demo', dir: lab }));
    const out = capture();

    // Act
    const report = await runBackupDemo({ lab, output: out, interactive: false });

    // Assess
    expect(report.problems).toEqual([]);
    expect(report.runs.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
    expect(out.text()).toContain('data: passed');
    expect(out.text()).toMatch(/data\s+good\s+.*passed \d+ min ago/);
  });
});
