import { describe, expect, it } from 'vitest';
import { median, restOfOverhead, round, summarize } from '../../../bench/stats.ts';

describe('median', () => {
  it('takes the middle value of an odd sample, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
  });

  it('averages the two middle values of an even sample', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('does not reorder the caller’s array', () => {
    const sample = [3, 1, 2];
    median(sample);
    expect(sample).toEqual([3, 1, 2]);
  });

  it('rejects an empty sample', () => {
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('gives count, min, median and max', () => {
    expect(summarize([5, 1, 3])).toEqual({ n: 3, min: 1, median: 3, max: 5 });
  });
});

describe('round', () => {
  it('keeps significant digits', () => {
    expect(round(0.000123456, 3)).toBe(0.000123);
    expect(round(1234.5, 2)).toBe(1200);
    expect(round(0)).toBe(0);
  });
});

describe('restOfOverhead', () => {
  it('takes the median of overhead minus detection over the runs that have both', () => {
    // Prepare: the third run of the first row has no detection figure and is left out.
    const rows = [
      {
        sleepSeconds: 1,
        runs: 3,
        wallMs: [],
        scriptMs: [],
        overheadMs: [800, 790, 5000],
        detectionMs: [760, 750],
        medianOverheadMs: 800,
      },
      {
        sleepSeconds: 5,
        runs: 1,
        wallMs: [],
        scriptMs: [],
        overheadMs: [100],
        detectionMs: [50],
        medianOverheadMs: 100,
      },
    ];

    // Act / Assess: rests 40, 40, 50
    expect(restOfOverhead(rows)).toBe(40);
  });

  it('has no figure without detection latencies', () => {
    expect(
      restOfOverhead([
        {
          sleepSeconds: 1,
          runs: 1,
          wallMs: [],
          scriptMs: [],
          overheadMs: [100],
          detectionMs: [],
          medianOverheadMs: 100,
        },
      ]),
    ).toBeUndefined();
  });
});
