import { describe, expect, it } from 'vitest';
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
  it('names oversized and slow bundles with their heaviest inputs', () => {
    // Prepare
    const r = results({
      bundles: {
        status: 'ok',
        goalBytes: 300 * 1024,
        goalColdImportMs: 100,
        samplesPerFunction: 5,
        importVariants: [
          { id: 'zod-z-object', label: 'z', source: '', bytes: 444 * 1024 },
          { id: 'zod-namespace', label: 'ns', source: '', bytes: 88 * 1024 },
          { id: 'zod-mini', label: 'mini', source: '', bytes: 15 * 1024 },
        ],
        results: [
          {
            name: 'big',
            bytes: 900 * 1024,
            coldImportMs: 150,
            coldImportSamplesMs: [150],
            topInputs: [{ name: 'zod', bytes: 444 * 1024 }],
          },
          { name: 'small', bytes: 10 * 1024, coldImportMs: 20, coldImportSamplesMs: [20], topInputs: [] },
        ],
      },
    });

    // Act
    const misses = findMisses(r);

    // Assess
    expect(misses).toHaveLength(3);
    expect(misses[0]).toMatch(
      /1 of 2 bundles exceed 300 KB \(largest: big 900 KB; the smallest over it: big 900 KB\)/,
    );
    expect(misses[1]).toMatch(
      /zod is in 1 of 2 bundles, 444 KB each.*tree-shakes to 88 KB.*Still the whole library in: big \(444 KB\)/,
    );
    expect(misses[2]).toMatch(/1 of 2 bundles import cold in more than 100 ms.*big 150 ms/);
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

  it('finds nothing when every goal is met or a section did not run', () => {
    expect(findMisses(results({}))).toEqual([]);
  });
});
