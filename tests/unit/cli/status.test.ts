/**
 * `stepops status` on the local engine: beside runs, leases and probes, each backup's newest good
 * copy from the catalogue and when each of the target's schedules fires next.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newestGoodCopies, nextRuns, status } from '../../../cli/commands/status.ts';
import type { Output } from '../../../cli/output.ts';
import { labTarget } from '../../../lab/target.ts';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import { FileBackupCatalogue } from '../../../shared/drivers/local/file-backup-catalogue.ts';
import type { CatalogueEntry } from '../../../shared/drivers/ports.ts';

let home: string;
let lines: string[];
const output: Output = {
  out: (text) => lines.push(...text.split('\n')),
  err: (text) => lines.push(...text.split('\n')),
};
const savedHome = process.env.STEPOPS_HOME;
const NOW = Date.parse('2026-12-02T06:30:00Z');

function entry(backup: string, runId: string, startedAt: string, outcome: CatalogueEntry['outcome']) {
  return {
    target: 'status-lab',
    backup,
    runId,
    kind: backup === 'data' ? 'dump' : 'ebs-snapshot',
    location: `file:///backups/${runId}.tgz`,
    resources: [{ id: `${runId}.tgz` }],
    sizeBytes: 2048,
    startedAt,
    finishedAt: new Date(Date.parse(startedAt) + 5000).toISOString(),
    outcome,
  } satisfies CatalogueEntry;
}

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'stepops-status-'));
  process.env.STEPOPS_HOME = home;
  registerTarget(labTarget({ name: 'status-lab', dir: path.join(home, 'lab'), port: 47990 }));
  const catalogue = new FileBackupCatalogue({ home: () => home });
  await catalogue.put(entry('data', 'status-lab-0000000000000001', '2026-12-02T02:00:00.000Z', 'good'));
  await catalogue.put(entry('data', 'status-lab-0000000000000002', '2026-12-02T04:00:00.000Z', 'failed'));
  await catalogue.put(entry('host', 'status-lab-0000000000000003', '2026-11-29T02:30:00.000Z', 'deleted'));
});

afterAll(async () => {
  clearRegisteredTargets();
  if (savedHome === undefined) delete process.env.STEPOPS_HOME;
  else process.env.STEPOPS_HOME = savedHome;
  await rm(home, { recursive: true, force: true });
});

beforeEach(() => {
  lines = [];
});

describe('status: backups and schedules', () => {
  it('shows the newest good copy of each backup and the next run of each schedule', async () => {
    // Act
    const code = await status('status-lab', {}, { output, now: () => NOW, isTTY: false });
    const text = lines.join('\n');

    // Assess: the failed copy is newer but not good; the only copy of host was deleted
    expect(code).toBe(0);
    expect(text).toMatch(
      /status-lab\s+data\s+4 h ago \(2\.0 KB\)\s+file:\/\/\/backups\/status-lab-0000000000000001\.tgz/,
    );
    expect(text).toMatch(/status-lab\s+host\s+none\n/);
    // Europe/London is on GMT in December: 02:00 there is 02:00 UTC.
    expect(text).toMatch(
      /status-lab\s+backup data\s+cron\(0 2 \* \* \? \*\) Europe\/London\s+in 19 h \(2026-12-03 02:00 UTC\)/,
    );
    expect(text).toMatch(
      /status-lab\s+backup host\s+cron\(30 2 \* \* \? \*\)\s+in 20 h \(2026-12-03 02:30 UTC\)/,
    );
    expect(text).toMatch(
      /status-lab\s+backup data restore test\s+cron\(0 5 \? \* SUN \*\)\s+in 3 d \(2026-12-06 05:00 UTC\)/,
    );
    expect(text).toMatch(/status-lab\s+backup freshness\s+rate\(1 hour\)\s+every hour/);
    expect(text).toMatch(/status-lab\s+health probes\s+rate\(1 minute\)\s+every minute/);
  });

  it('gives the same in JSON, with the copy and the next runs as data', async () => {
    // Act
    await status('status-lab', { json: true }, { output, now: () => NOW });
    const report = JSON.parse(lines.join('\n'));

    // Assess
    expect(report.backups['status-lab']).toEqual([
      {
        backup: 'data',
        newestGood: expect.objectContaining({
          runId: 'status-lab-0000000000000001',
          finishedAt: '2026-12-02T02:00:05.000Z',
          sizeBytes: 2048,
        }),
      },
      { backup: 'host' },
    ]);
    expect(report.schedules[0]).toEqual({
      target: 'status-lab',
      workflow: 'backup',
      job: 'data',
      expression: 'cron(0 2 * * ? *)',
      timezone: 'Europe/London',
      next: { at: Date.parse('2026-12-03T02:00:00Z'), estimated: false },
    });
  });

  it('marks a backup whose newest good copy is older than its RPO', () => {
    // Prepare: two days later, the copy of data is 52 h old against an RPO of 24 h
    const target = findTarget('status-lab');
    const entries = [entry('data', 'status-lab-0000000000000001', '2026-12-02T02:00:00.000Z', 'good')];

    // Act
    const copies = newestGoodCopies(target, entries, Date.parse('2026-12-04T06:00:00Z'));

    // Assess: host declares no RPO, so having no copy is not "late"
    expect(copies).toEqual([expect.objectContaining({ backup: 'data', late: true }), { backup: 'host' }]);
    expect(newestGoodCopies(target, entries, NOW)[0]).not.toHaveProperty('late');
  });

  it('shows as the newest good copy neither one dated in the future nor an adopted one', () => {
    // Prepare
    const target = findTarget('status-lab');
    const entries = [
      entry('data', 'future', '2099-01-01T00:00:00Z', 'good'),
      { ...entry('data', 'adopted', '2026-12-02T06:00:00Z', 'good'), adopted: true },
      entry('data', 'own', '2026-12-02T05:00:00Z', 'good'),
    ];

    // Act
    const [data] = newestGoodCopies(target, entries, NOW);

    // Assess
    expect(data?.newestGood?.runId).toBe('own');
  });

  it('estimates the next health check and backup of a rate from their last recorded runs', () => {
    // Prepare: a target whose backup runs every 6 hours, last at 03:10
    const base = findTarget('status-lab');
    const target = {
      ...base,
      backup: base.backup?.map((job) => (job.name === 'host' ? { ...job, schedule: 'rate(6 hours)' } : job)),
    };
    const probe = {
      probe: 'app-health',
      status: 'up' as const,
      since: '2026-12-02T06:00:00Z',
      lastDetail: '200',
      lastAt: '2026-12-02T06:29:40.000Z',
    };

    // Act
    const runs = nextRuns(
      target,
      {
        entries: [entry('host', 'status-lab-0000000000000004', '2026-12-02T03:10:00.000Z', 'good')],
        probes: [probe],
      },
      NOW,
    );

    // Assess
    expect(runs.find((r) => r.job === 'host')?.next).toEqual({
      at: Date.parse('2026-12-02T09:10:00Z'),
      estimated: true,
    });
    expect(runs.find((r) => r.workflow === 'health')?.next).toEqual({
      at: Date.parse('2026-12-02T06:30:40Z'),
      estimated: true,
    });
  });
});
