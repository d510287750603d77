import { describe, expect, it } from 'vitest';
import { boundText, latencyChart, latencySection, latencySeries } from '../../../shared/console/latency.ts';
import { type TargetView, targetBody } from '../../../shared/console/pages.ts';
import type { HealthDay } from '../../../shared/health/history.ts';

/** Buckets: ≤10, ≤25, ≤50, ≤100, ≤250, ≤500, ≤1000, ≤2500, ≤5000, ≤10000, over. */
const fast = [0, 90, 8, 2, 0, 0, 0, 0, 0, 0, 0];
const slowTail = [0, 0, 50, 0, 0, 0, 0, 45, 0, 0, 5];

describe('latency series from the uptime history', () => {
  it('gives each probe that measured latency its percentiles per wanted day, oldest first, per host', () => {
    // Prepare
    const days: HealthDay[] = [
      { day: '2026-12-02', probes: { site: { n: 100, ok: 100, lat: fast }, disk: { n: 100, ok: 100 } } },
      {
        day: '2026-12-03',
        probes: {
          site: { n: 100, ok: 95, lat: slowTail },
          'api@i-0abc': { n: 4, ok: 4, lat: [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
        },
      },
      { day: '2026-11-01', probes: { site: { n: 1, ok: 1, lat: fast } } },
    ];

    // Act
    const series = latencySeries(days, ['2026-12-01', '2026-12-02', '2026-12-03']);

    // Assess: 90 of 100 under 25 ms (p50 25, p95 50, p99 100); 50 at ≤50 ms, 45 at ≤2.5 s, 5 over 10 s
    expect(series).toEqual({
      site: [
        { day: '2026-12-01', checks: 0 },
        { day: '2026-12-02', checks: 100, p50: 25, p95: 50, p99: 100 },
        { day: '2026-12-03', checks: 100, p50: 50, p95: 2500, p99: Infinity },
      ],
      'api on i-0abc': [
        { day: '2026-12-01', checks: 0 },
        { day: '2026-12-02', checks: 0 },
        { day: '2026-12-03', checks: 4, p50: 10, p95: 10, p99: 10 },
      ],
    });
  });

  it('writes bounds for people', () => {
    expect([boundText(25), boundText(2500), boundText(Infinity), boundText(undefined)]).toEqual([
      '≤ 25 ms',
      '≤ 2.5 s',
      '> 10 s',
      '—',
    ]);
  });
});

describe('the latency chart', () => {
  it('draws one mark per measured day, higher for slower, and says the newest day in words', () => {
    // Prepare
    const days = [
      { day: '2026-12-01', checks: 0 },
      { day: '2026-12-02', checks: 100, p50: 25, p95: 50, p99: 100 },
      { day: '2026-12-03', checks: 100, p50: 50, p95: 2500, p99: Infinity },
    ];

    // Act
    const svg = latencyChart(days, 'site').value;

    // Assess
    expect(svg).toContain(
      'aria-label="site latency over 3 days, 2 measured; 2026-12-03: p50 ≤ 50 ms, p95 ≤ 2.5 s, p99 &gt; 10 s"',
    );
    const dots = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    expect(dots).toHaveLength(2);
    // The slower day's p50 is drawn higher (smaller y), and to the right.
    expect(dots[1]![1]!).toBeLessThan(dots[0]![1]!);
    expect(dots[1]![0]!).toBeGreaterThan(dots[0]![0]!);
    expect(svg).toContain('<title>2026-12-02: p50 ≤ 25 ms, p95 ≤ 50 ms, p99 ≤ 100 ms (100 checks)</title>');
    expect(svg).not.toContain('<script');
  });

  it('says so when nothing was measured', () => {
    expect(latencyChart([{ day: '2026-12-01', checks: 0 }], 'site').value).toContain(
      'aria-label="site: no latency measured over 1 days"',
    );
    expect(latencySection({}).value).toContain('No latency measured yet.');
  });

  it('is a section of the target page, escaped, and absent from the page when not read', () => {
    // Prepare
    const base: TargetView = {
      name: 'shop',
      running: [],
      recent: [],
      probes: [],
      uptime: {},
      backups: [],
      schedules: [],
      approvals: [],
      runbooks: [],
    };
    const latency = { '<b>site</b>': [{ day: '2026-12-02', checks: 3, p50: 25, p95: 50, p99: 50 }] };

    // Act
    const withChart = targetBody({ ...base, latency }, Date.parse('2026-12-02T12:00:00Z')).value;
    const unreadable = targetBody({ ...base, latency: 'unknown' }, Date.now()).value;
    const without = targetBody(base, Date.now()).value;

    // Assess
    expect(withChart).toContain('<h2>Latency</h2>');
    expect(withChart).toContain('<td>&lt;b&gt;site&lt;/b&gt;</td>');
    expect(withChart).not.toContain('<b>site</b>');
    expect(withChart).toContain('p95 ≤ 50 ms');
    expect(unreadable).toContain('The uptime history could not be read.');
    expect(without).not.toContain('Latency');
  });
});
