/**
 * `stepops report` over local runs recorded under a temporary home, and the commit times it reads
 * from git (a real repository, with a fixed commit date).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysOf, report } from '../../../cli/commands/report.ts';
import type { Output } from '../../../cli/output.ts';
import { commitTimes, probeTransitions } from '../../../cli/runs/history-reader.ts';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';

let home: string;
let repo: string;
const savedHome = process.env.STEPOPS_HOME;
const NOW = Date.parse('2026-12-10T12:00:00Z');

function writeRun(run: Record<string, unknown>): void {
  const dir = path.join(home, 'runs', String(run.runId));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify({ where: 'local', pid: process.pid, target: 'rep', ...run }),
  );
  writeFileSync(path.join(dir, 'events.jsonl'), '');
}

beforeAll(() => {
  home = mkdtempSync(path.join(tmpdir(), 'stepops-report-'));
  process.env.STEPOPS_HOME = home;
  repo = path.join(home, 'repo');
  mkdirSync(repo);
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, ...args], {
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@example.com',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@example.com',
        GIT_COMMITTER_DATE: '2026-12-10T09:00:00Z',
        GIT_AUTHOR_DATE: '2026-12-10T09:00:00Z',
      },
    });
  git('init', '-q');
  writeFileSync(path.join(repo, 'a'), 'a');
  git('add', 'a');
  git('commit', '-qm', 'one');
  git('tag', 'v2');
  registerTarget({ name: 'rep', description: 'report fixture', hosts: { type: 'local', directory: repo } });
  writeRun({
    runId: 'rep-0000000000000001',
    workflow: 'deploy',
    status: 'SUCCEEDED',
    ref: 'v2',
    startedAt: '2026-12-10T10:00:00Z',
    stoppedAt: '2026-12-10T10:02:00Z',
  });
  writeRun({
    runId: 'rep-0000000000000002',
    workflow: 'deploy',
    status: 'FAILED',
    ref: 'v3',
    error: 'DeployFailedError',
    startedAt: '2026-12-10T10:10:00Z',
    stoppedAt: '2026-12-10T10:11:00Z',
  });
  writeRun({
    runId: 'rep-0000000000000003',
    workflow: 'backup',
    status: 'SUCCEEDED',
    startedAt: '2026-12-10T03:00:00Z',
    stoppedAt: '2026-12-10T03:00:30Z',
  });
});

afterAll(() => {
  clearRegisteredTargets();
  if (savedHome === undefined) delete process.env.STEPOPS_HOME;
  else process.env.STEPOPS_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
});

function capture(): { output: Output; lines: string[] } {
  const lines: string[] = [];
  return { lines, output: { out: (t) => lines.push(t), err: (t) => lines.push(t) } };
}

describe('stepops report', () => {
  it('computes the metrics from the recorded runs and the commit time git gives', async () => {
    const { output, lines } = capture();
    const code = await report('rep', { local: true, days: 7, json: true }, { output, now: () => NOW });
    expect(code).toBe(0);
    const result = JSON.parse(lines.join('\n'));
    expect(result.deployFrequency).toEqual({ deploys: 1, perDay: 1 / 7, perWeek: 1 });
    // committed 09:00, deployed by 10:02
    expect(result.leadTime).toEqual({ count: 1, p50: 3_720_000, p90: 3_720_000, max: 3_720_000, unknown: 0 });
    expect(result.changeFailure).toEqual({ deploys: 2, failed: 1, rolledBack: 1, rate: 0.5 });
    expect(
      result.jobs.map((j: { workflow: string; successRate: number }) => [j.workflow, j.successRate]),
    ).toEqual([
      ['deploy', 0.5],
      ['backup', 1],
    ]);
  });

  it('prints the metrics as a table', async () => {
    const { output, lines } = capture();
    await report('rep', { local: true, days: 7 }, { output, now: () => NOW });
    const text = lines.join('\n');
    expect(text).toMatch(/change failure rate\s+50 % \(1 of 2, 1 rolled back\)/);
    expect(text).toMatch(/lead time for changes\s+median 1 h 2 min/);
  });

  it('refuses a window that is not a whole number of days from 1 to 365', () => {
    expect(() => daysOf('0')).toThrow('--days 0: expected a whole number from 1 to 365');
    expect(() => daysOf('2.5')).toThrow('--days 2.5');
    expect(() => daysOf('lots')).toThrow('--days lots');
    expect(daysOf(undefined)).toBe(30);
  });
});

describe('commit times', () => {
  it('reads the commit time of known refs and never passes an option-like ref to git', async () => {
    const marker = path.join(home, 'written-by-git');
    const times = await commitTimes(repo, ['v2', 'v9', `--output=${marker}`, '../x', 'a..b']);
    expect(times).toEqual({ v2: Date.parse('2026-12-10T09:00:00Z') });
    expect(existsSync(marker)).toBe(false);
  });
});

describe('probe transitions', () => {
  it('reads downs and recoveries from the alerts, recoveries from the health state and downs now', () => {
    const transitions = probeTransitions(
      'rep',
      [
        {
          target: 'rep',
          workflow: 'health',
          outcome: 'failed',
          runId: 'h1',
          summary: '',
          failedState: 'api',
          error: 'api down',
          at: '2026-12-10T10:00:00Z',
        },
        {
          target: 'other',
          workflow: 'health',
          outcome: 'failed',
          runId: 'h2',
          summary: '',
          failedState: 'api',
          error: 'api down',
          at: '2026-12-10T10:00:00Z',
        },
        {
          target: 'rep',
          workflow: 'health',
          outcome: 'succeeded',
          runId: 'h3',
          summary: '',
          failedState: 'api',
          error: 'api recovered',
          at: '2026-12-10T10:05:00Z',
        },
      ],
      {
        probes: {
          db: { probe: 'db', status: 'down', since: '2026-12-10T11:00:00Z', lastAt: '2026-12-10T11:59:00Z' },
        },
        runs: [{ events: [{ kind: 'up', probe: 'web', since: '2026-12-10T08:00:00Z', downForMs: 60_000 }] }],
      },
    );
    expect(transitions).toEqual([
      { probe: 'api', kind: 'down', at: '2026-12-10T10:00:00Z' },
      { probe: 'api', kind: 'up', at: '2026-12-10T10:05:00Z' },
      { probe: 'web', kind: 'down', at: '2026-12-10T08:00:00Z' },
      { probe: 'web', kind: 'up', at: '2026-12-10T08:01:00.000Z' },
      { probe: 'db', kind: 'down', at: '2026-12-10T11:00:00Z' },
    ]);
  });
});
