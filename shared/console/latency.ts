/**
 * The latency chart of the console's target page: per probe (per host, for per-host probes), each
 * day's latency percentiles from the uptime history's bucket counts (`shared/health/history.ts`),
 * drawn as server-rendered SVG: no script, readable with JavaScript off, a text summary for
 * screen readers and a title on every day for pointers.
 */
import { type HealthDay, historyRows, LATENCY_BUCKETS_MS } from '../health/history.ts';
import { type Html, html } from './html.ts';

/** Days of latency the console shows. */
export const LATENCY_DAYS = 30;

/** One day of one probe: its checks and the percentiles (bucket upper bounds, ms; `Infinity` over the last). */
export interface LatencyDay {
  day: string;
  checks: number;
  p50?: number;
  p95?: number;
  p99?: number;
}

/**
 * Each probe's latency per day over `wanted` (oldest first), from the history's days (today's
 * included); a day without a record is there without percentiles. Probes that never measured a
 * latency (a disk probe) are left out. Keys are `probe`, or `probe on host` as the console names them.
 *
 * @example
 * latencySeries([{ day: '2026-12-01', probes: { site: { n: 2, ok: 2, lat: [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0] } } }], ['2026-12-01'])
 * // { site: [{ day: '2026-12-01', checks: 2, p50: 25, p95: 25, p99: 25 }] }
 */
export function latencySeries(
  days: readonly HealthDay[],
  wanted: readonly string[],
): Record<string, LatencyDay[]> {
  const rows = historyRows(days.filter((d) => wanted.includes(d.day)));
  const series: Record<string, LatencyDay[]> = {};
  for (const key of new Set(rows.filter((r) => r.p50 !== undefined).map((r) => r.probe))) {
    const name = key.includes('@') ? key.replace('@', ' on ') : key;
    series[name] = wanted.map((day) => {
      const row = rows.find((r) => r.probe === key && r.day === day);
      if (!row) return { day, checks: 0 };
      return {
        day,
        checks: row.checks,
        ...(row.p50 !== undefined ? { p50: row.p50 } : {}),
        ...(row.p95 !== undefined ? { p95: row.p95 } : {}),
        ...(row.p99 !== undefined ? { p99: row.p99 } : {}),
      };
    });
  }
  return series;
}

/**
 * A latency bound for people: `≤ 50 ms`, `≤ 2.5 s`, `> 10 s`.
 *
 * @example
 * boundText(2500) // '≤ 2.5 s'
 */
export function boundText(ms: number | undefined): string {
  if (ms === undefined) return '—';
  const top = LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 2]!;
  if (ms === Infinity) return `> ${top / 1000} s`;
  return ms < 1000 ? `≤ ${ms} ms` : `≤ ${ms / 1000} s`;
}

const HEIGHT = 96;
const AXIS = 44;
const STEP = 9;
const TOP = 6;
const BOTTOM = 12;
/** Decades of milliseconds on the axis: 10 ms (1) to 10 s (4), and "over 10 s" above. */
const LOW = 1;
const HIGH = 4.4;

function y(ms: number): number {
  const decade = ms === Infinity ? HIGH : Math.min(HIGH, Math.max(LOW, Math.log10(ms)));
  return TOP + ((HIGH - decade) / (HIGH - LOW)) * (HEIGHT - TOP - BOTTOM);
}

/**
 * The chart of one probe's days (oldest left): per day a bar from p50 to p99, a tick at p95 and a
 * dot at p50, on a log scale from 10 ms to over 10 s; days without checks are left empty.
 *
 * @example
 * latencyChart(series['app-health'], 'app-health')
 */
export function latencyChart(days: readonly LatencyDay[], label: string): Html {
  const measured = days.filter((d) => d.p50 !== undefined);
  const last = measured.at(-1);
  const summary = last
    ? `${label} latency over ${days.length} days, ${measured.length} measured; ${last.day}: p50 ${boundText(last.p50)}, p95 ${boundText(last.p95)}, p99 ${boundText(last.p99)}`
    : `${label}: no latency measured over ${days.length} days`;
  const width = AXIS + days.length * STEP + 4;
  const grid = [10, 100, 1000, 10_000].map(
    (ms) =>
      html`<line x1="${AXIS}" x2="${width}" y1="${y(ms).toFixed(1)}" y2="${y(ms).toFixed(1)}" stroke="#d0d0d0"/><text x="${AXIS - 4}" y="${(y(ms) + 4).toFixed(1)}" text-anchor="end">${ms < 1000 ? `${ms} ms` : `${ms / 1000} s`}</text>`,
  );
  const marks = days.map((d, i) => {
    if (d.p50 === undefined) return '';
    const x = AXIS + i * STEP + STEP / 2;
    const top = y(d.p99 ?? d.p95 ?? d.p50);
    const p95 = y(d.p95 ?? d.p50);
    const p50 = y(d.p50);
    return html`<g><title>${d.day}: p50 ${boundText(d.p50)}, p95 ${boundText(d.p95)}, p99 ${boundText(d.p99)} (${d.checks} checks)</title><rect x="${(x - 2).toFixed(1)}" y="${top.toFixed(1)}" width="4" height="${Math.max(1, p50 - top).toFixed(1)}" fill="#9bb8e8"/><line x1="${(x - 3).toFixed(1)}" x2="${(x + 3).toFixed(1)}" y1="${p95.toFixed(1)}" y2="${p95.toFixed(1)}" stroke="#0645ad" stroke-width="2"/><circle cx="${x.toFixed(1)}" cy="${p50.toFixed(1)}" r="2.5" fill="#0645ad"/></g>`;
  });
  return html`<svg role="img" class="latency" aria-label="${summary}" width="${width}" height="${HEIGHT}" viewBox="0 0 ${width} ${HEIGHT}">${grid}${marks}</svg>`;
}

/**
 * The target page's latency section: a row per probe with its chart and its newest day's
 * percentiles in words, and how to read the marks.
 *
 * @example
 * latencySection(latencySeries(days, lastDays(new Date(), 30)))
 */
export function latencySection(series: Readonly<Record<string, readonly LatencyDay[]>>): Html {
  const probes = Object.keys(series).sort();
  if (probes.length === 0) return html`<p class="muted">No latency measured yet.</p>`;
  const days = series[probes[0]!]!.length;
  return html`<table aria-label="latency"><thead><tr><th scope="col">Probe</th><th scope="col">Latency, ${days} days (log scale)</th><th scope="col">Newest day</th></tr></thead><tbody>${probes.map(
    (probe) => {
      const last = series[probe]!.filter((d) => d.p50 !== undefined).at(-1);
      return html`<tr><td>${probe}</td><td>${latencyChart(series[probe]!, probe)}</td><td>${last ? html`${last.day}<br>p50 ${boundText(last.p50)}<br>p95 ${boundText(last.p95)}<br>p99 ${boundText(last.p99)}` : html`<span class="muted">none</span>`}</td></tr>`;
    },
  )}</tbody></table><p class="muted">Dot: p50; tick: p95; bar: up to p99. Each is the upper bound of the latency bucket the checks fell in.</p>`;
}
