import { describe, expect, it } from 'vitest';
import { BUNDLE_GOALS, type BundleResult } from '../../../bench/bundles.ts';
import { findMisses } from '../../../bench/misses.ts';
import type { BenchResults } from '../../../bench/report.ts';

const notRun = { status: 'not-run', reason: 'test' } as const;

function results(overrides: Partial<BenchResults>): BenchResults {
  return {
    date: '2026-01-01T00:00:00Z',
    command: 'npm run bench',
    machine: {
      cpu: 'cpu',
      cores: 2,
      memoryGb: 4,
      node: 'v24',
      platform: 'linux',
      loadAverage: { start: [0, 0, 0], end: [0, 0, 0] },
    },
    totalSeconds: 1,
    cost: notRun,
    overhead: notRun,
    bundles: notRun,
    engine: notRun,
    misses: [],
    ...overrides,
  };
}

describe('findMisses', () => {
  it('names the functions over the goals of their kind, with the cause the bundles show', () => {
    // Prepare
    const fn = (name: string, kib: number, coldMs: number, extra: Partial<BundleResult>): BundleResult => ({
      name,
      bytes: kib * 1024,
      coldImportMs: coldMs,
      coldImportSamplesMs: [coldMs],
      topInputs: [],
      ...extra,
    });
    const r = results({
      bundles: {
        status: 'ok',
        goals: BUNDLE_GOALS,
        samplesPerFunction: 5,
        importVariants: [],
        baselines: [
          {
            id: 'baseline-logger',
            label: 'baseline: middy + logger',
            source: '',
            bytes: 26 * 1024,
            coldImportMs: 15,
          },
          {
            id: 'baseline-one-client',
            label: 'baseline: one client',
            source: '',
            bytes: 384 * 1024,
            coldImportMs: 80,
          },
        ],
        results: [
          fn('plan', 130, 50, {
            kind: 'no-aws',
            services: [],
            targetModel: true,
            parts: { targetModel: 25 * 1024, targets: 30 * 1024, zod: 34 * 1024, zodMessages: 2.6 * 1024 },
          }),
          fn('describe', 61.6, 20, {
            kind: 'no-aws',
            services: [],
            targetModel: false,
            parts: { targetModel: 0, targets: 0, zod: 28 * 1024, zodMessages: 2.6 * 1024 },
          }),
          fn('rollback', 30, 20, { kind: 'no-aws', services: [], targetModel: false }),
          fn('poll', 450, 90, {
            kind: 'one-service',
            services: ['ssm'],
            targetModel: true,
            parts: { targetModel: 25 * 1024, targets: 30 * 1024, zod: 34 * 1024, zodMessages: 2.6 * 1024 },
            sdkExternal: { bytes: 190 * 1024, coldImportMs: null },
          }),
          fn('resolve', 1100, 150, { kind: 'several-services', services: ['ec2', 'ssm'], targetModel: true }),
        ],
      },
    });

    // Act
    const misses = findMisses(r);

    // Assess
    expect(misses[0]).toMatch(
      /^2 of 3 functions that make no AWS call are over 60 KB: plan 130 KB, describe 62 KB \(under it: rollback 30 KB\)/,
    );
    // What the target costs, and what is left once it is out of the bundle.
    expect(misses[1]).toMatch(
      /plan read a target.*its loader .*25 KB\) and the targets \(30 KB\).*plan 75 KB: plan still over it/,
    );
    expect(misses[2]).toMatch(
      /plan 75 KB, over by 15 KB: .*only its input checked without zod\/mini \(34 KB\) would meet it/,
    );
    expect(misses[2]).toMatch(
      /describe 62 KB, over by 2 KB: without zod's English messages \(3 KB.*\) 59 KB/,
    );
    expect(misses[3]).toMatch(/^1 of 1 functions that call one AWS service are over 400 KB: poll 450 KB/);
    expect(misses[4]).toMatch(/poll read a target.*poll 395 KB: poll under 400 KB/);
    expect(misses.join('\n')).toMatch(
      /One SDK client with middy and the logger alone is 384 KB.*16 KB left.*190 KB/,
    );
    expect(misses.join('\n')).toMatch(
      /1 of 3 functions that make no AWS call import cold in 40 ms or more: plan 50 ms.*baseline \(middy \+ logger\) took 15 ms/,
    );
    expect(misses.join('\n')).toMatch(
      /1 of 1 functions that call several AWS services import cold in 100 ms or more: resolve 150 ms/,
    );
    // No size goal for several services, and the one-service function meets the cold goal.
    expect(misses.join('\n')).not.toMatch(/resolve 1100 KB|poll 90 ms/);
  });

  it('says a function that reads a target holds the targets as data, and what is left without it', () => {
    // Prepare
    const r = results({
      bundles: {
        status: 'ok',
        goals: BUNDLE_GOALS,
        samplesPerFunction: 5,
        importVariants: [],
        baselines: [
          {
            id: 'baseline-logger',
            label: 'baseline: middy + logger',
            source: '',
            bytes: 26 * 1024,
            coldImportMs: 15,
          },
        ],
        results: [
          {
            name: 'plan',
            bytes: 120 * 1024,
            coldImportMs: 50,
            coldImportSamplesMs: [50],
            topInputs: [],
            kind: 'no-aws',
            services: [],
            targetModel: true,
            parts: {
              targetModel: 0,
              targets: 0,
              targetData: 60 * 1024,
              zod: 24 * 1024,
              zodMessages: 2.6 * 1024,
            },
          },
        ],
      },
    });

    // Act
    const misses = findMisses(r).join('\n');

    // Assess
    expect(misses).toMatch(
      /plan read a target: their bundles hold the stage's targets as data.*\(60 KB of JSON.*plan 60 KB\./,
    );
    expect(misses).not.toMatch(/target model with its loader/);
    expect(misses).toMatch(/plan 60 KB, over by 0 KB/);
    expect(misses).toMatch(/where a target is read the targets as JSON data/);
  });

  it('reports overhead at or over the goal for the schedule as built only', () => {
    const r = results({
      overhead: {
        status: 'ok',
        note: '',
        goalMs: 1000,
        byInterval: [
          {
            interval: 'as built',
            asBuilt: true,
            longestPauseMs: 1000,
            rows: [
              {
                sleepSeconds: 1,
                runs: 1,
                wallMs: [],
                scriptMs: [],
                overheadMs: [],
                detectionMs: [900],
                medianOverheadMs: 1500,
              },
              {
                sleepSeconds: 5,
                runs: 1,
                wallMs: [],
                scriptMs: [],
                overheadMs: [],
                detectionMs: [],
                medianOverheadMs: 400,
              },
            ],
          },
          {
            interval: 'fixed 2000 ms',
            asBuilt: false,
            longestPauseMs: 2000,
            rows: [
              {
                sleepSeconds: 1,
                runs: 1,
                wallMs: [],
                scriptMs: [],
                overheadMs: [],
                detectionMs: [],
                medianOverheadMs: 2500,
              },
            ],
          },
        ],
      },
    });
    const misses = findMisses(r);
    expect(misses).toHaveLength(1);
    expect(misses[0]).toMatch(/as built.*S = 1 s is 1500 ms \(goal < 1000 ms\), of which 900 ms/);
  });

  it('warns when the measured medians meet the goal but the longest pause cannot', () => {
    // Prepare: 30 ms of orchestration besides detection, a longest pause of 1000 ms.
    const row = (sleepSeconds: number, overhead: number, detection: number) => ({
      sleepSeconds,
      runs: 1,
      wallMs: [],
      scriptMs: [],
      overheadMs: [overhead],
      detectionMs: [detection],
      medianOverheadMs: overhead,
    });
    const r = results({
      overhead: {
        status: 'ok',
        note: '',
        goalMs: 1000,
        byInterval: [
          {
            interval: 'as built',
            asBuilt: true,
            longestPauseMs: 1000,
            rows: [row(1, 780, 750), row(5, 790, 760)],
          },
          { interval: 'fixed 500 ms', asBuilt: false, longestPauseMs: 500, rows: [row(1, 530, 500)] },
        ],
      },
    });

    // Act
    const misses = findMisses(r);

    // Assess
    expect(misses).toHaveLength(1);
    expect(misses[0]).toMatch(/highest 790 ms.*longest pause, 1000 ms.*\(30 ms\): about 1030 ms/);
    expect(misses[0]).toMatch(/fixed 500 ms: at most 530 ms measured/);
  });

  it('says what bills the health checks of ten endpoints when they are over the goal at list price', () => {
    // Prepare
    const cost = (monthly: number): BenchResults['cost'] => ({
      status: 'ok',
      memoryNote: '',
      notes: [],
      scenarios: [],
      schedules: [
        {
          target: '(any)',
          kind: 'health',
          name: '10 endpoints',
          schedule: 'rate(1 minute)',
          runsPerMonth: 43_800,
          monthly,
          freeTierMonthly: 0.0484,
          note: 'measured',
        },
      ],
      anchors: { syntheticsPerRun: 0.0012, route53PerMonth: { low: 0.5, high: 0.75 } },
    });

    // Act
    const over = findMisses(results({ cost: cost(0.1031) }));
    const under = findMisses(results({ cost: cost(0.0999) }));

    // Assess: $1 per million Express requests is $0.0438 of 43,800 runs; 100 ms of Express at 64 MB
    // and one Lambda request make it $0.0571
    expect(over).toHaveLength(1);
    expect(over[0]).toMatch(/cost \$0\.103 a month at list price \(goal < \$0\.100\)/);
    expect(over[0]).toMatch(/Express requests of 43,800 runs are \$0\.044, .* \$0\.057; /);
    expect(over[0]).toMatch(/it is \$0\.048, Express and DynamoDB alone/);
    expect(over[0]).toContain('the rest is the DynamoDB state item, read and written each run');
    expect(under).toEqual([]);
  });

  it('finds nothing when every goal is met or a section did not run', () => {
    expect(findMisses(results({}))).toEqual([]);
  });
});
