/**
 * Two backups of one target at once, on the local engine with the real handlers and local drivers:
 * the second run is refused each job the first holds, before it starts anything, and says so; the
 * first records its copies as its own; the lease is released when the first run ends.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createLocalBackupEngine } from '../../functions/index.ts';
import { backupLeaseKey } from '../../shared/backup/lease.ts';
import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import type { TargetInput } from '../../shared/config/schema.ts';
import { FileBackupCatalogue } from '../../shared/drivers/local/file-backup-catalogue.ts';
import { FileLeaseStore } from '../../shared/drivers/local/file-lease-store.ts';
import type { Notification } from '../../shared/drivers/ports.ts';
import type { LocalEngine } from '../../shared/engine/index.ts';

let root: string;
let home: string;
let engine: LocalEngine;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-backup-lease-wf-'));
  home = path.join(root, 'home');
  await mkdir(home, { recursive: true });
  process.env.STEPOPS_HOME = home;
  engine = createLocalBackupEngine();
});
afterAll(async () => {
  clearRegisteredTargets();
  await rm(root, { recursive: true, force: true });
});

describe('two backup runs of one target at once', () => {
  it('refuses the second run the job the first holds, before it dumps anything, and releases it after', async () => {
    // Prepare: a dump that waits for a gate file, so the first run is mid-job when the second starts
    const hostDir = path.join(root, 'host');
    const gate = path.join(root, 'gate');
    await mkdir(path.join(hostDir, 'data'), { recursive: true });
    await writeFile(path.join(hostDir, 'data', 'rows.txt'), 'one\ntwo\n');
    registerTarget({
      name: 'twice',
      description: 'two backups at once',
      hosts: { type: 'local', directory: hostDir },
      backup: [
        {
          name: 'data',
          type: 'dump',
          script: `echo started >> ${path.join(root, 'dumps.log')}; while [ ! -e ${gate} ]; do sleep 0.05; done; tar -C data -czf "$STEPOPS_DUMP_FILE" .`,
          timeout: 120,
          bucket: 'lease-backups',
          prefix: 'dumps',
          schedule: 'cron(0 2 * * ? *)',
          retention: { count: 5 },
        },
      ],
    } as TargetInput);
    const leases = new FileLeaseStore();
    const key = backupLeaseKey('twice', 'data');
    const first = engine.start({ target: 'twice', reason: 'nightly' }, { executionName: 'run-first' }).result;
    while ((await leases.holder(key))?.owner !== 'run-first' || !existsSync(path.join(root, 'dumps.log'))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // Act
    const second = await engine.start({ target: 'twice', reason: 'by hand' }, { executionName: 'run-second' })
      .result;
    await writeFile(gate, '');
    const done = await first;

    // Assess: the second run failed at once, naming the run holding the job; one dump ran
    expect(second.status).toBe('FAILED');
    expect(second.error).toBe('BackupFailedError');
    expect(second.cause).toContain('TargetLockedError');
    expect(second.cause).toContain('is being taken by run run-first');
    expect(done.status, done.cause).toBe('SUCCEEDED');
    expect((await readFile(path.join(root, 'dumps.log'), 'utf8')).trim().split('\n')).toEqual(['started']);
    const entries = await new FileBackupCatalogue().list('twice', 'data');
    expect(entries.map((e) => [e.runId, e.outcome, e.adopted ?? false])).toEqual(
      expect.arrayContaining([
        ['run-first', 'good', false],
        ['run-second', 'failed', false],
      ]),
    );
    expect(entries.find((e) => e.runId === 'run-second')?.resources).toEqual([]);
    expect(await leases.holder(key)).toBeUndefined();
    const outbox = (await readFile(path.join(home, 'outbox.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Notification);
    expect(outbox.find((n) => n.runId === 'run-second')?.summary).toContain(
      'is being taken by run run-first',
    );
  });
});
