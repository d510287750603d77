/**
 * Flapping, storms and silence in the fold: an endpoint that fails half the time is reported as
 * flapping within an hour with a few alerts; patterns that went down and up every few minutes
 * stop alerting once they flap; an outage is not flapping; a flapping probe that goes hard down is
 * alerted; a probe down through a long maintenance is alerted after the bound. And the grouping of
 * a round's events into one message, and of many targets' alerts into one.
 */
import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../../shared/drivers/ports.ts';
import { roundNotification, stormNotification } from '../../../shared/health/alerts.ts';
import {
  emptyHealthState,
  type FoldOptions,
  foldRound,
  type HealthEvent,
  type TargetHealthState,
} from '../../../shared/health/state.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const FLAPPING = { window: 20, ratio: 0.3 };

/** A deterministic sequence of pass/fail marks failing with probability `p` (a linear congruential generator). */
function randomMarks(length: number, p: number, seed: number): string {
  let x = seed;
  let marks = '';
  for (let i = 0; i < length; i += 1) {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    marks += x / 2 ** 31 < p ? '-' : '+';
  }
  return marks;
}

function play(marks: string, options: Partial<FoldOptions> = {}) {
  let state: TargetHealthState = emptyHealthState('t');
  const events: (HealthEvent & { round: number })[] = [];
  [...marks].forEach((mark, round) => {
    const results: ProbeResult[] = [
      { probe: 'site', ok: mark === '+', detail: mark === '+' ? '200' : '503' },
    ];
    const fold = foldRound(state, results, {
      now: new Date(T0 + round * 60_000),
      failureThreshold: 3,
      successThreshold: 2,
      conditions: {},
      flapping: FLAPPING,
      ...options,
    });
    state = fold.state;
    events.push(...fold.events.map((e) => ({ ...e, round })));
  });
  return { state, events, alerted: events.filter((e) => e.alert) };
}

describe('flapping', () => {
  it.each([1, 7, 42, 1234, 99_999])(
    'reports an endpoint failing half the time within an hour, with at most a few alerts (seed %i)',
    (seed) => {
      const { events, alerted, state } = play(randomMarks(60, 0.5, seed));
      const flapping = events.find((e) => e.kind === 'flapping');
      expect(flapping?.alert).toBe(true);
      expect(flapping?.round).toBeLessThan(60);
      expect(alerted.length).toBeLessThanOrEqual(5);
      expect(state.probes.site?.flapping).toBe(true);
    },
  );

  it.each(['--+', '---++', '----++', '-+-+--', '+-+--+--'])(
    'bounds the alerts of the pattern %s repeated for an hour',
    (pattern) => {
      const marks = pattern.repeat(60).slice(0, 60);
      const { alerted, events } = play(marks);
      expect(events.some((e) => e.kind === 'flapping')).toBe(true);
      expect(alerted.length).toBeLessThanOrEqual(5);
    },
  );

  it('does not call an outage and its recovery flapping', () => {
    const { events } = play(`${'+'.repeat(10)}${'-'.repeat(30)}${'+'.repeat(20)}`);
    expect(events.map((e) => [e.kind, e.round, e.alert])).toEqual([
      ['down', 12, true],
      ['up', 41, true],
    ]);
  });

  it('alerts a flapping probe that goes hard down once it is stable, and records its flaps silently', () => {
    const marks = `${'--+'.repeat(8)}${'-'.repeat(20)}`;
    const { events } = play(marks);
    const kinds = events.map((e) => [e.kind, e.alert]);
    expect(kinds.filter(([k]) => k === 'flapping')).toEqual([['flapping', true]]);
    const stable = events.findIndex((e) => e.kind === 'stable');
    expect(stable).toBeGreaterThan(-1);
    expect(events[stable]?.alert).toBe(true);
    // the hard down is told right with its stability
    expect(events.slice(stable).some((e) => e.kind === 'down' && e.alert)).toBe(true);
  });
});

describe('silence during a maintenance', () => {
  it('alerts a probe down longer than the bound during a maintenance, once', () => {
    const { alerted, events } = play('-'.repeat(200), {
      maintenance: { reason: 'run deploy-1' },
      maintenanceAlertAfterMinutes: 120,
    });
    expect(events.filter((e) => e.kind === 'down')).toHaveLength(1);
    expect(alerted.map((e) => [e.kind, e.round, e.maintenance])).toEqual([
      ['down-in-maintenance', 120, 'run deploy-1'],
    ]);
  });
});

describe('grouping', () => {
  const event = (probe: string, host?: string, kind: HealthEvent['kind'] = 'down'): HealthEvent => ({
    kind,
    probe,
    ...(host ? { host } : {}),
    detail: 'inactive',
    condition: 'unit active',
    since: '2026-03-02T10:00:00.000Z',
    consecutiveFailures: 3,
    alert: true,
  });

  it('makes one message of a round, one line per probe naming its hosts', () => {
    const n = roundNotification(
      'shop',
      [event('unit', 'i-a'), event('unit', 'i-b'), event('disk', 'i-a')],
      'run-1',
      new Date(T0),
      [{ runbook: 'restart', started: true, executionId: 'x-1' }],
    );
    expect(n.summary).toMatch(
      /^shop: 2 health changes: unit on i-a, i-b is down: inactive .*; disk on i-a is down: .*; started recovery runbook restart \(x-1\)$/,
    );
    expect(n.outcome).toBe('failed');
  });

  it('keeps one probe down on several hosts a single-line alert naming the hosts', () => {
    const n = roundNotification('shop', [event('unit', 'i-a'), event('unit', 'i-b')], 'run-1', new Date(T0));
    expect(n.summary).toMatch(/^shop: unit on i-a, i-b is down: inactive/);
    expect(n.host).toBe('i-a, i-b');
  });

  it('makes one message of 50 targets down together', () => {
    const pending = Array.from({ length: 50 }, (_, i) => ({
      target: `t${i}`,
      summary: `t${i}: site is down: 503`,
      outcome: 'failed' as const,
    }));
    const n = stormNotification(pending, 'batch-1', new Date(T0));
    expect(n.summary).toMatch(/^50 targets changed health \(50 failing\): t0, t1, /);
    expect(n.cause?.split('\n')).toHaveLength(50);
  });
});
