import { describe, expect, it } from 'vitest';
import {
  dailyUptime,
  deliveryReport,
  incidentsOf,
  jobStats,
  type MetricRun,
  overallUptime,
  percentiles,
} from '../../../shared/report/dora.ts';

const NOW = Date.parse('2026-12-10T12:00:00Z');

function run(partial: Partial<MetricRun> & Pick<MetricRun, 'runId' | 'startedAt'>): MetricRun {
  return { workflow: 'deploy', status: 'SUCCEEDED', ...partial };
}

describe('percentiles', () => {
  it('takes the nearest rank', () => {
    expect(percentiles([40, 10, 30, 20])).toEqual({ count: 4, p50: 20, p90: 40, max: 40 });
    expect(percentiles([5])).toEqual({ count: 1, p50: 5, p90: 5, max: 5 });
    expect(percentiles([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toEqual({ count: 10, p50: 5, p90: 9, max: 10 });
  });
  it('has no values without samples', () => {
    expect(percentiles([])).toEqual({ count: 0 });
  });
});

describe('incidentsOf', () => {
  it('pairs a down with the next up of the same probe and host, and keeps a down without an up open', () => {
    const incidents = incidentsOf(
      [
        { probe: 'app', kind: 'up', at: '2026-12-10T09:00:00Z' },
        { probe: 'app', kind: 'down', at: '2026-12-10T10:00:00Z' },
        { probe: 'app', host: 'h1', kind: 'down', at: '2026-12-10T10:01:00Z' },
        { probe: 'app', kind: 'down', at: '2026-12-10T10:02:00Z' },
        { probe: 'app', kind: 'up', at: '2026-12-10T10:05:00Z' },
      ],
      NOW,
    );
    expect(incidents).toEqual([
      { probe: 'app', from: '2026-12-10T10:00:00Z', to: '2026-12-10T10:05:00Z', durationMs: 300_000 },
      { probe: 'app', host: 'h1', from: '2026-12-10T10:01:00Z', durationMs: 7_140_000 },
    ]);
  });
});

describe('jobStats', () => {
  it('counts outcomes per workflow and leaves running runs out of the rate and durations', () => {
    const stats = jobStats([
      run({ runId: 'a', startedAt: '2026-12-10T10:00:00Z', stoppedAt: '2026-12-10T10:01:00Z' }),
      run({
        runId: 'b',
        status: 'FAILED',
        startedAt: '2026-12-10T10:00:00Z',
        stoppedAt: '2026-12-10T10:03:00Z',
      }),
      run({ runId: 'c', status: 'RUNNING', startedAt: '2026-12-10T11:00:00Z' }),
      run({
        runId: 'd',
        workflow: 'backup',
        status: 'TIMED_OUT',
        startedAt: '2026-12-10T10:00:00Z',
        stoppedAt: '2026-12-10T10:00:10Z',
      }),
    ]);
    expect(stats).toEqual([
      {
        workflow: 'deploy',
        runs: 3,
        succeeded: 1,
        failed: 1,
        running: 1,
        successRate: 0.5,
        durationMs: { count: 2, p50: 60_000, p90: 180_000, max: 180_000 },
      },
      {
        workflow: 'backup',
        runs: 1,
        succeeded: 0,
        failed: 1,
        running: 0,
        successRate: 0,
        durationMs: { count: 1, p50: 10_000, p90: 10_000, max: 10_000 },
      },
    ]);
  });
});

describe('deliveryReport', () => {
  const runs: MetricRun[] = [
    // v2: committed 09:00, deployed by 10:02 → 62 min lead time
    run({ runId: 'd1', ref: 'v2', startedAt: '2026-12-10T10:00:00Z', stoppedAt: '2026-12-10T10:02:00Z' }),
    // v3: the gate failed and it rolled back
    run({
      runId: 'd2',
      ref: 'v3',
      status: 'FAILED',
      error: 'DeployFailedError',
      startedAt: '2026-12-10T10:10:00Z',
      stoppedAt: '2026-12-10T10:12:00Z',
    }),
    // v4 aborted: a failure, not a rollback
    run({
      runId: 'd3',
      ref: 'v4',
      status: 'ABORTED',
      error: 'States.Aborted',
      startedAt: '2026-12-09T10:00:00Z',
      stoppedAt: '2026-12-09T10:00:30Z',
    }),
    // v5: succeeded, commit time unknown
    run({ runId: 'd4', ref: 'v5', startedAt: '2026-12-08T10:00:00Z', stoppedAt: '2026-12-08T10:04:00Z' }),
    // outside the 7-day window
    run({ runId: 'old', ref: 'v1', startedAt: '2026-11-01T10:00:00Z', stoppedAt: '2026-11-01T10:01:00Z' }),
    run({
      runId: 'r1',
      workflow: 'recover',
      startedAt: '2026-12-10T11:00:00Z',
      stoppedAt: '2026-12-10T11:00:45Z',
    }),
    run({
      runId: 'r2',
      workflow: 'recover',
      status: 'FAILED',
      startedAt: '2026-12-10T11:10:00Z',
      stoppedAt: '2026-12-10T11:10:05Z',
    }),
  ];
  const report = deliveryReport({
    target: 'demo',
    days: 7,
    now: NOW,
    runs,
    commitTimes: { v2: Date.parse('2026-12-10T09:00:00Z'), v1: Date.parse('2026-10-01T00:00:00Z') },
    transitions: [
      { probe: 'app', kind: 'down', at: '2026-12-10T10:59:00Z' },
      { probe: 'app', kind: 'up', at: '2026-12-10T11:01:00Z' },
      { probe: 'api', kind: 'down', at: '2026-11-20T00:00:00Z' },
      { probe: 'api', kind: 'up', at: '2026-11-20T01:00:00Z' },
    ],
  });

  it('counts successful deploys in the window as the deploy frequency', () => {
    expect(report.from).toBe('2026-12-03T12:00:00.000Z');
    expect(report.deployFrequency).toEqual({ deploys: 2, perDay: 2 / 7, perWeek: 2 });
  });
  it('measures lead time from the commit to the end of the successful deploy, where the commit time is known', () => {
    expect(report.leadTime).toEqual({ count: 1, p50: 3_720_000, p90: 3_720_000, max: 3_720_000, unknown: 1 });
  });
  it('counts failed and rolled-back deploys in the change failure rate', () => {
    expect(report.changeFailure).toEqual({ deploys: 4, failed: 2, rolledBack: 1, rate: 0.5 });
  });
  it('measures time to restore from probes down to up and from successful recovery runs', () => {
    expect(report.timeToRestore).toEqual({
      incidents: { count: 1, p50: 120_000, p90: 120_000, max: 120_000 },
      open: [],
      recoveries: { count: 1, p50: 45_000, p90: 45_000, max: 45_000 },
    });
  });
  it('lists each workflow of the window with its success rate', () => {
    expect(report.jobs.map((j) => [j.workflow, j.runs, j.successRate])).toEqual([
      ['deploy', 4, 0.5],
      ['recover', 2, 0.5],
    ]);
  });
  it('has no rate when no deploy ended', () => {
    const empty = deliveryReport({
      target: 'x',
      days: 30,
      now: NOW,
      runs: [],
      commitTimes: {},
      transitions: [],
    });
    expect(empty.changeFailure).toEqual({ deploys: 0, failed: 0, rolledBack: 0 });
    expect(empty.leadTime).toEqual({ count: 0, unknown: 0 });
  });
});

describe('uptime', () => {
  const incidents = [
    { probe: 'app', from: '2026-12-09T06:00:00Z', to: '2026-12-09T12:00:00Z', durationMs: 21_600_000 },
  ];
  it('gives each known day its share of time up, and no value before the first check', () => {
    expect(dailyUptime(incidents, NOW, 3, Date.parse('2026-12-09T00:00:00Z'))).toEqual([undefined, 0.75, 1]);
  });
  it('counts only the known part of the first day, and an open incident to now', () => {
    const open = [{ probe: 'app', from: '2026-12-10T11:00:00Z', durationMs: 3_600_000 }];
    expect(dailyUptime(open, NOW, 1, Date.parse('2026-12-10T10:00:00Z'))).toEqual([0.5]);
    expect(overallUptime(open, NOW, 90, Date.parse('2026-12-10T10:00:00Z'))).toBe(0.5);
  });
  it('knows nothing without a first check', () => {
    expect(dailyUptime([], NOW, 2, undefined)).toEqual([undefined, undefined]);
    expect(overallUptime([], NOW, 90, undefined)).toBeUndefined();
  });
});
