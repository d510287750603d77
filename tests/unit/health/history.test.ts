/**
 * Uptime history: rounds counted into the day (per probe and host, latency in buckets), the day
 * finished by the first round of the next, percentiles from the buckets, and the file store's
 * 90 days.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyExpiresAt } from '../../../shared/drivers/aws/dynamo-health-history.ts';
import { FileHealthHistory } from '../../../shared/drivers/local/file-health-history.ts';
import type { ProbeResult } from '../../../shared/drivers/ports.ts';
import {
  countRound,
  type HealthDay,
  historyRows,
  lastDays,
  latencyPercentile,
} from '../../../shared/health/history.ts';
import { emptyHealthState, foldRound } from '../../../shared/health/state.ts';

const results = (ok: boolean, latencyMs: number): ProbeResult[] => [
  { probe: 'site', ok, detail: ok ? '200' : '503', latencyMs },
  { probe: 'unit', host: 'i-a', ok: true, detail: 'active' },
];

describe('countRound', () => {
  it('counts each probe per day, and finishes the day at the first round of the next', () => {
    let today = countRound(undefined, results(true, 30), new Date('2026-03-02T23:58:00Z')).today;
    today = countRound(today, results(false, 400), new Date('2026-03-02T23:59:00Z')).today;
    const next = countRound(today, results(true, 8), new Date('2026-03-03T00:00:00Z'));

    expect(next.finished).toEqual({
      day: '2026-03-02',
      probes: {
        site: { n: 2, ok: 1, lat: [0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0] },
        'unit@i-a': { n: 2, ok: 2 },
      },
    });
    expect(next.today).toEqual({
      day: '2026-03-03',
      probes: { site: { n: 1, ok: 1, lat: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }, 'unit@i-a': { n: 1, ok: 1 } },
    });
  });

  it('is what the fold keeps in the state and hands over when a day ends', () => {
    const first = foldRound(emptyHealthState('t'), results(true, 30), {
      now: new Date('2026-03-02T23:59:00Z'),
      failureThreshold: 3,
      successThreshold: 2,
      conditions: {},
    });
    const second = foldRound(first.state, results(true, 30), {
      now: new Date('2026-03-03T00:00:30Z'),
      failureThreshold: 3,
      successThreshold: 2,
      conditions: {},
    });
    expect(first.finishedDay).toBeUndefined();
    expect(second.finishedDay?.day).toBe('2026-03-02');
    expect(second.state.today?.day).toBe('2026-03-03');
  });
});

describe('percentiles and rows', () => {
  it('gives the bound of the bucket each share falls in', () => {
    const lat = [0, 80, 15, 4, 0, 0, 0, 0, 0, 0, 1];
    expect(latencyPercentile(lat, 0.5)).toBe(25);
    expect(latencyPercentile(lat, 0.95)).toBe(50);
    expect(latencyPercentile(lat, 0.99)).toBe(100);
    expect(latencyPercentile(lat, 1)).toBe(Infinity);
    expect(latencyPercentile(undefined, 0.5)).toBeUndefined();
  });

  it('lists days newest first, filtered by probe (with its hosts)', () => {
    const days: HealthDay[] = [
      { day: '2026-03-01', probes: { site: { n: 4, ok: 3 }, 'unit@i-a': { n: 4, ok: 4 } } },
      { day: '2026-03-02', probes: { site: { n: 2, ok: 2 } } },
    ];
    expect(historyRows(days, 'site').map((r) => [r.day, r.probe, r.uptime])).toEqual([
      ['2026-03-02', 'site', 100],
      ['2026-03-01', 'site', 75],
    ]);
    expect(historyRows(days, 'unit').map((r) => r.probe)).toEqual(['unit@i-a']);
    expect(lastDays(new Date('2026-03-02T10:00:00Z'), 3)).toEqual(['2026-02-28', '2026-03-01', '2026-03-02']);
  });
});

describe('history stores', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-history-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps 90 days in files and reads the days asked for', async () => {
    const store = new FileHealthHistory({ home: () => root });
    await store.writeDay('t', '2025-11-30', '{"day":"2025-11-30","probes":{}}');
    await store.writeDay('t', '2026-03-01', '{"day":"2026-03-01","probes":{}}');
    expect(await readdir(path.join(root, 'health-history', 't'))).toEqual(['2026-03-01.json']);
    expect(await store.readDays('t', ['2026-02-28', '2026-03-01'])).toEqual({
      '2026-03-01': '{"day":"2026-03-01","probes":{}}',
    });
    await expect(store.writeDay('t', '../x', '{}')).rejects.toThrow('expected a day as YYYY-MM-DD');
  });

  it('sets the DynamoDB TTL 91 days after the day began (90 after it ended)', () => {
    expect(historyExpiresAt('2026-03-02')).toBe(Date.parse('2026-06-01T00:00:00Z') / 1000);
  });
});
