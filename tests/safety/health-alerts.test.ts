/**
 * When health alerts, written out here: a probe turns down after `failureThreshold` failing
 * checks in a row and is alerted then, unless a maintenance is in progress; a down state nobody
 * was told of is alerted once when the maintenance ends; one already alerted is never alerted
 * again at the end of a maintenance; a recovery is alerted only to whoever was told of the
 * failure. A recovery runbook starts at most once per cooldown and `maxPerDay` a (UTC) day, never
 * during a maintenance. A declared window is open from its start to its end, the end excluded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../shared/drivers/ports.ts';
import {
  emptyHealthState,
  type FoldOptions,
  foldRound,
  formatDuration,
  type HealthEvent,
  openWindow,
  type TargetHealthState,
} from '../../shared/health/state.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const MINUTE = 60_000;

type Round = { ok: boolean; maintenance?: string; probes?: string[] };

/** Folds rounds one a minute; returns every event with its round. */
function play(rounds: Round[], extra: Partial<FoldOptions> = {}, start = emptyHealthState('t')) {
  let state: TargetHealthState = start;
  const events: (HealthEvent & { round: number })[] = [];
  const recoveries: number[] = [];
  rounds.forEach((r, round) => {
    const results: ProbeResult[] = (r.probes ?? ['site']).map((probe) => ({
      probe,
      ok: r.ok,
      detail: r.ok ? '200 in 5 ms' : 'expected status 200, got 503',
    }));
    const fold = foldRound(state, results, {
      now: new Date(T0 + round * MINUTE),
      failureThreshold: 2,
      successThreshold: 1,
      conditions: { site: 'status 200' },
      ...(r.maintenance ? { maintenance: { reason: r.maintenance } } : {}),
      ...extra,
    });
    state = fold.state;
    events.push(...fold.events.map((e) => ({ ...e, round })));
    if (fold.recovery?.start) recoveries.push(round);
  });
  return { state, events, recoveries, alerted: events.filter((e) => e.alert) };
}

const down = { ok: false };
const up = { ok: true };
const inMaintenance = (r: Round): Round => ({ ...r, maintenance: 'deploy r-1' });

describe('when health alerts', () => {
  it('alerts a down probe once, at the threshold, and its recovery once', () => {
    // Act
    const { events } = play([down, down, down, down, up, up]);

    // Assess
    expect(events.map((e) => [e.kind, e.round, e.alert])).toEqual([
      ['down', 1, true],
      ['up', 4, true],
    ]);
    expect(events[0]).toMatchObject({
      since: '2026-03-02T10:00:00.000Z',
      consecutiveFailures: 2,
      condition: 'status 200',
    });
    expect(events[1]).toMatchObject({ downForMs: 4 * MINUTE, since: '2026-03-02T10:00:00.000Z' });
  });

  it('does not alert during a maintenance, then alerts once when it ends with the probe still down', () => {
    // Act
    const { events } = play([
      inMaintenance(down),
      inMaintenance(down),
      inMaintenance(down),
      down,
      down,
      down,
    ]);

    // Assess
    expect(events.map((e) => [e.kind, e.round, e.alert, e.maintenance])).toEqual([
      ['down', 1, false, 'deploy r-1'],
      ['still-down', 3, true, 'deploy r-1'],
    ]);
  });

  it('never alerts again at the end of a maintenance a probe whose failure was already alerted', () => {
    // Act: down and alerted before a deploy; the deploy runs; it ends with the probe still down.
    const { events } = play([down, down, inMaintenance(down), inMaintenance(down), down, down]);

    // Assess
    expect(events.map((e) => [e.kind, e.round, e.alert])).toEqual([['down', 1, true]]);
  });

  it('says nothing when a probe went down and recovered inside a maintenance', () => {
    // Act
    const { events } = play([inMaintenance(down), inMaintenance(down), inMaintenance(up), up, down]);

    // Assess
    expect(events.map((e) => [e.kind, e.round, e.alert])).toEqual([
      ['down', 1, false],
      ['up', 2, false],
    ]);
  });

  it('tells of a recovery during a maintenance whoever was told of the failure', () => {
    // Act
    const { events } = play([down, down, inMaintenance(up)]);

    // Assess
    expect(events.map((e) => [e.kind, e.round, e.alert])).toEqual([
      ['down', 1, true],
      ['up', 2, true],
    ]);
  });

  it('never alerts one outage twice and never alerts a recovery nobody was told of (property)', () => {
    // Prepare
    const round = fc.record({
      ok: fc.boolean(),
      maintenance: fc.option(fc.constantFrom('deploy', 'window'), { nil: undefined }),
    });

    // Assess
    fc.assert(
      fc.property(fc.array(round, { minLength: 1, maxLength: 30 }), (rounds) => {
        const { alerted, events, state } = play(rounds.map((r) => (r.maintenance ? r : { ok: r.ok })));
        let told = false;
        for (const e of alerted) {
          if (e.kind === 'up')
            expect(told, `round ${e.round}: recovery of an outage nobody was told of`).toBe(true);
          else expect(told, `round ${e.round}: the same outage alerted twice`).toBe(false);
          told = e.kind !== 'up';
        }
        // Anyone down at the end, outside a maintenance, has been told of.
        const last = rounds.at(-1)!;
        if (!last.maintenance && state.probes.site?.status === 'down') expect(told).toBe(true);
        for (const e of events) if (e.kind === 'down') expect(e.alert).toBe(!rounds[e.round]!.maintenance);
      }),
      { numRuns: 300 },
    );
  });
});

describe('when a recovery runbook starts', () => {
  const onFailure = { runbook: 'restart-api', cooldownMinutes: 10, maxPerDay: 3 };

  it('starts once the probe is down, then not again within the cooldown, and again at its end', () => {
    // Act: down from round 1; the cooldown is 10 rounds.
    const { recoveries } = play(
      Array.from({ length: 23 }, () => down),
      { onFailure },
    );

    // Assess
    expect(recoveries).toEqual([1, 11, 21]);
  });

  it('starts at most maxPerDay times a UTC day, and again the next day', () => {
    // Prepare: three starts already today, the last long ago.
    const start: TargetHealthState = {
      ...emptyHealthState('t'),
      recoveries: ['2026-03-02T00:01:00.000Z', '2026-03-02T00:02:00.000Z', '2026-03-02T00:03:00.000Z'],
    };
    const downProbe = { probe: 'site', ok: false, detail: 'x' };
    const options = (at: string): FoldOptions => ({
      now: new Date(at),
      failureThreshold: 1,
      successThreshold: 1,
      conditions: {},
      onFailure,
    });

    // Act
    const today = foldRound(start, [downProbe], options('2026-03-02T23:59:00Z'));
    const twoToday = foldRound(
      { ...start, recoveries: start.recoveries.slice(1) },
      [downProbe],
      options('2026-03-02T23:59:00Z'),
    );
    const tomorrow = foldRound(start, [downProbe], options('2026-03-03T00:00:00Z'));

    // Assess
    expect(today.recovery).toEqual({
      start: false,
      runbook: 'restart-api',
      why: 'started 3 times today, at most 3',
    });
    expect(twoToday.recovery).toMatchObject({
      start: true,
      runbook: 'restart-api',
      reason: 'site is down: x',
    });
    expect(tomorrow.recovery).toMatchObject({ start: true });
    expect(tomorrow.state.recoveries.at(-1)).toBe('2026-03-03T00:00:00.000Z');
  });

  it('waits the whole cooldown: not a millisecond before its end', () => {
    // Prepare
    const start: TargetHealthState = { ...emptyHealthState('t'), recoveries: ['2026-03-02T10:00:00.000Z'] };
    const fold = (at: number) =>
      foldRound(start, [{ probe: 'site', ok: false, detail: 'x' }], {
        now: new Date(at),
        failureThreshold: 1,
        successThreshold: 1,
        conditions: {},
        onFailure,
      }).recovery;

    // Assess
    expect(fold(T0 + 10 * MINUTE - 1)).toEqual({
      start: false,
      runbook: 'restart-api',
      why: 'started 10 min ago, cooldown 10 min',
    });
    expect(fold(T0 + 10 * MINUTE)).toMatchObject({ start: true });
  });

  it('never starts during a maintenance, nor when nothing is down', () => {
    // Act
    const during = play([inMaintenance(down), inMaintenance(down), inMaintenance(down)], { onFailure });
    const healthy = play([up, up], { onFailure });

    // Assess
    expect(during.recoveries).toEqual([]);
    expect(during.state.recoveries).toEqual([]);
    expect(healthy.recoveries).toEqual([]);
  });

  it('forgets starts older than two days', () => {
    // Prepare
    const start: TargetHealthState = {
      ...emptyHealthState('t'),
      recoveries: ['2026-02-28T10:00:00.001Z', '2026-02-28T09:59:59.999Z'],
    };

    // Act
    const { state } = foldRound(start, [], {
      now: new Date(T0),
      failureThreshold: 1,
      successThreshold: 1,
      conditions: {},
    });

    // Assess
    expect(state.recoveries).toEqual(['2026-02-28T10:00:00.001Z']);
  });
});

describe('when a declared maintenance window is open', () => {
  const window = { days: ['mon' as const], start: '23:30', durationMinutes: 60 };

  it('is open from its start to its end, the end excluded, past midnight on the next day', () => {
    // Assess: 2026-03-02 is a Monday.
    expect(openWindow([window], new Date('2026-03-02T23:29:59.999Z'))).toBeUndefined();
    expect(openWindow([window], new Date('2026-03-02T23:30:00Z'))).toBe(window);
    expect(openWindow([window], new Date('2026-03-03T00:29:59.999Z'))).toBe(window);
    expect(openWindow([window], new Date('2026-03-03T00:30:00Z'))).toBeUndefined();
    expect(openWindow([window], new Date('2026-03-03T23:45:00Z'))).toBeUndefined();
    expect(
      openWindow([{ start: '23:30', durationMinutes: 60 }], new Date('2026-03-05T23:45:00Z')),
    ).toBeDefined();
    expect(openWindow(undefined, new Date('2026-03-02T23:45:00Z'))).toBeUndefined();
  });
});

describe('the state a fold keeps', () => {
  it('keeps when a maintenance began while its reason stays, and restarts it when the reason changes', () => {
    // Act
    const first = foldRound(emptyHealthState('t'), [], {
      now: new Date(T0),
      failureThreshold: 1,
      successThreshold: 1,
      conditions: {},
      maintenance: { reason: 'deploy r-1' },
    });
    const same = foldRound(first.state, [], {
      now: new Date(T0 + MINUTE),
      failureThreshold: 1,
      successThreshold: 1,
      conditions: {},
      maintenance: { reason: 'deploy r-1' },
    });
    const other = foldRound(same.state, [], {
      now: new Date(T0 + 2 * MINUTE),
      failureThreshold: 1,
      successThreshold: 1,
      conditions: {},
      maintenance: { reason: 'window' },
    });
    const over = foldRound(other.state, [], {
      now: new Date(T0 + 3 * MINUTE),
      failureThreshold: 1,
      successThreshold: 1,
      conditions: {},
    });

    // Assess
    expect(same.state.maintenance).toEqual({ reason: 'deploy r-1', since: '2026-03-02T10:00:00.000Z' });
    expect(other.state.maintenance).toEqual({ reason: 'window', since: '2026-03-02T10:02:00.000Z' });
    expect(over.state).not.toHaveProperty('maintenance');
    expect(over.state).toMatchObject({ target: 't', version: 0, updatedAt: '2026-03-02T10:03:00.000Z' });
  });

  it('keeps a probe per host, counting streaks and the first failure of the current one', () => {
    // Act
    const { state } = play([
      { ok: false, probes: ['site'] },
      { ok: true, probes: ['site'] },
      { ok: false, probes: ['site'] },
    ]);
    const hosts = foldRound(
      emptyHealthState('t'),
      [
        { probe: 'disk', host: 'i-1', ok: false, detail: 'full' },
        { probe: 'disk', host: 'i-2', ok: true, detail: 'ok' },
      ],
      { now: new Date(T0), failureThreshold: 1, successThreshold: 1, conditions: {} },
    );

    // Assess
    expect(state.probes.site).toMatchObject({
      status: 'up',
      consecutiveFailures: 1,
      consecutiveSuccesses: 0,
      failingSince: '2026-03-02T10:02:00.000Z',
      lastOk: false,
      lastError: { detail: 'expected status 200, got 503', at: '2026-03-02T10:02:00.000Z' },
    });
    expect(Object.keys(hosts.state.probes).sort()).toEqual(['disk@i-1', 'disk@i-2']);
    expect(hosts.state.probes['disk@i-1']).toMatchObject({ host: 'i-1', status: 'down', alerted: true });
    expect(hosts.events).toEqual([
      expect.objectContaining({
        kind: 'down',
        probe: 'disk',
        host: 'i-1',
        condition: 'disk',
        detail: 'full',
      }),
    ]);
  });

  it.each([
    [-5_000, '0 s'],
    [0, '0 s'],
    [59_499, '59 s'],
    [59_500, '1 min'],
    [61_000, '1 min 1 s'],
    [3_599_000, '59 min 59 s'],
    [3_600_000, '1 h'],
    [3_660_000, '1 h 1 min'],
    [47 * 3_600_000 + 59 * 60_000, '47 h 59 min'],
    [48 * 3_600_000, '2 days 0 h'],
    [49 * 3_600_000, '2 days 1 h'],
  ])('writes %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('the state a fold keeps, in full', () => {
  it('starts a target with nothing recorded', () => {
    expect(emptyHealthState('zmanim')).toEqual({ target: 'zmanim', version: 0, probes: {}, recoveries: [] });
  });

  it('records a new passing probe, a recovered one as no longer alerted, and keeps the recorded runs', () => {
    // Prepare
    const runs = [{ runId: 'health-1', events: [] }];
    const start = { ...emptyHealthState('t'), runs };

    // Act
    const first = foldRound(start, [{ probe: 'site', ok: true, detail: '200 in 5 ms' }], {
      now: new Date(T0),
      failureThreshold: 1,
      successThreshold: 1,
      conditions: {},
    });
    const recovered = play([down, down, up]).state;

    // Assess
    expect(first.state.probes.site).toEqual({
      probe: 'site',
      status: 'up',
      consecutiveFailures: 0,
      consecutiveSuccesses: 1,
      since: '2026-03-02T10:00:00.000Z',
      lastOk: true,
      lastDetail: '200 in 5 ms',
      lastAt: '2026-03-02T10:00:00.000Z',
      alerted: false,
    });
    expect(first.state.runs).toEqual(runs);
    expect(recovered.probes.site).toMatchObject({
      status: 'up',
      alerted: false,
      since: '2026-03-02T10:02:00.000Z',
    });
  });

  it('alerts a probe still down after a maintenance once, not again after the next one', () => {
    // Act
    const { events, state } = play([
      inMaintenance(down),
      inMaintenance(down),
      down,
      inMaintenance(down),
      down,
      down,
    ]);

    // Assess
    expect(events.filter((e) => e.alert).map((e) => [e.kind, e.round])).toEqual([['still-down', 2]]);
    expect(state.probes.site?.alerted).toBe(true);
  });

  it('says a recovery is not started during a maintenance, and why', () => {
    // Act
    const fold = foldRound(emptyHealthState('t'), [{ probe: 'site', ok: false, detail: 'x' }], {
      now: new Date(T0),
      failureThreshold: 1,
      successThreshold: 1,
      conditions: {},
      maintenance: { reason: 'deploy r-9' },
      onFailure: { runbook: 'restart-api', cooldownMinutes: 10, maxPerDay: 3 },
    });

    // Assess
    expect(fold.recovery).toEqual({
      start: false,
      runbook: 'restart-api',
      why: 'not started during deploy r-9',
    });
  });

  it('forgets a start exactly two days old', () => {
    const { state } = foldRound({ ...emptyHealthState('t'), recoveries: ['2026-02-28T10:00:00.000Z'] }, [], {
      now: new Date(T0),
      failureThreshold: 1,
      successThreshold: 1,
      conditions: {},
    });
    expect(state.recoveries).toEqual([]);
  });
});

describe('why a recovery starts', () => {
  it('names the first down probe, its host and what it saw', () => {
    const fold = foldRound(
      emptyHealthState('t'),
      [{ probe: 'disk', host: 'i-1', ok: false, detail: 'full' }],
      {
        now: new Date(T0),
        failureThreshold: 1,
        successThreshold: 1,
        conditions: {},
        onFailure: { runbook: 'clean-disk', cooldownMinutes: 10, maxPerDay: 3 },
      },
    );
    expect(fold.recovery).toEqual({
      start: true,
      runbook: 'clean-disk',
      reason: 'disk on i-1 is down: full',
    });
  });
});
