/**
 * The health fold's second-line rules, each with its expected values written out: on which round a
 * probe is called flapping (half a window of checks, the failure ratio at its bound, at least three
 * changes) and on which it is stable again; the recent checks kept to the window; flapping turned
 * off after rounds with it on; the maintenance bound never alerting a probe that is up; what a
 * recovery's reason names and when it is told the instance; each runbook's own starts and their
 * two-day horizon; the fleet host kept; the finished day handed back.
 */
import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../../shared/drivers/ports.ts';
import {
  emptyHealthState,
  type FoldOptions,
  foldRound,
  type HealthEvent,
  type ProbeState,
  type TargetHealthState,
} from '../../../shared/health/state.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const MINUTE = 60_000;
const at = (minutes: number) => new Date(T0 + minutes * MINUTE).toISOString();

/** Folds one `site` result a minute (`+` passes with `200`, `-` fails with `503`). */
function play(marks: string, options: Partial<FoldOptions> = {}, start = emptyHealthState('t')) {
  let state: TargetHealthState = start;
  const events: (HealthEvent & { round: number })[] = [];
  [...marks].forEach((mark, round) => {
    const results: ProbeResult[] = [
      { probe: 'site', ok: mark === '+', detail: mark === '+' ? '200' : '503' },
    ];
    const fold = foldRound(state, results, {
      now: new Date(T0 + round * MINUTE),
      failureThreshold: 5,
      successThreshold: 2,
      conditions: {},
      ...options,
    });
    state = fold.state;
    events.push(...fold.events.map((e) => ({ ...e, round })));
  });
  return { state, events };
}

const FLAPPING = { flapping: { window: 20, ratio: 0.3 } };

describe('flapping: the round a probe is called flapping', () => {
  it('on the round its checks reach half the window (10 of 20), not before, saying how many failed', () => {
    // Act
    const { events } = play('-+'.repeat(6), FLAPPING);

    // Assess
    expect(events).toEqual([
      {
        kind: 'flapping',
        probe: 'site',
        detail: '5 of the last 10 checks failed, alternating; last: 200',
        condition: 'site',
        since: at(9),
        consecutiveFailures: 0,
        alert: true,
        round: 9,
      },
    ]);
  });

  it.each([
    // 2 failures of 12 (0.17 < 0.3), 4 changes: alternating, but not failing often enough.
    ['+++-++++-+++', []],
    // 3 failures of 10: the ratio 0.3 exactly is enough.
    ['+-++-++-++', [[9, '3 of the last 10 checks failed, alternating; last: 200']]],
    // 4 failures of 10 and exactly 3 changes: enough.
    ['+++---+++-', [[9, '4 of the last 10 checks failed, alternating; last: 503']]],
    // 3 failures of 10 but 2 changes: an outage and its end, not flapping.
    ['++++---+++', []],
  ])('%s (window 20, ratio 0.3) flaps on the rounds %j', (marks, flaps) => {
    // Act
    const { events } = play(marks, FLAPPING);

    // Assess
    expect(events.map((e) => [e.kind, e.round, e.detail])).toEqual(
      flaps.map(([round, detail]) => ['flapping', round, detail]),
    );
  });
});

describe('flapping: stable again', () => {
  it('on the round its last half-window of checks agree, while the window is not yet full', () => {
    // Act: flapping from round 9; the checks 9 to 18 all pass (19 checks kept of 20).
    const { events, state } = play(`${'-+'.repeat(5)}${'+'.repeat(12)}`, FLAPPING);

    // Assess
    expect(events.map((e) => [e.kind, e.round])).toEqual([
      ['flapping', 9],
      ['stable', 18],
    ]);
    expect(events[1]).toEqual({
      kind: 'stable',
      probe: 'site',
      detail: '200',
      condition: 'site',
      since: at(18),
      consecutiveFailures: 0,
      alert: true,
      round: 18,
    });
    expect(state.probes.site?.flapping).toBeUndefined();
  });

  it('records, unalerted and naming no maintenance, the down and up of a probe that flaps', () => {
    // Act: flapping from round 9, failing from round 10, down on round 14, up on round 16.
    const { events } = play(`${'-+'.repeat(5)}-----++`, FLAPPING);

    // Assess
    expect(events.map((e) => [e.kind, e.round, e.alert])).toEqual([
      ['flapping', 9, true],
      ['down', 14, false],
      ['up', 16, false],
    ]);
    expect(events[2]).toStrictEqual({
      kind: 'up',
      probe: 'site',
      detail: '200',
      condition: 'site',
      since: at(10),
      consecutiveFailures: 0,
      downForMs: 6 * MINUTE,
      alert: false,
      round: 16,
    });
  });

  it('keeps only the last window of checks', () => {
    // Act
    const { state } = play(`${'-'.repeat(3)}${'+'.repeat(22)}`, FLAPPING);

    // Assess
    expect(state.probes.site?.recent).toBe('++++++++++++++++++++');
  });

  it('goes on, keeping what it recorded, when flapping detection is turned off after rounds with it on', () => {
    // Prepare: flapping since round 9.
    const { state: before } = play('-+'.repeat(6), FLAPPING);
    expect(before.probes.site?.flapping).toBe(true);

    // Act
    const { state, events } = play('+', {}, before);

    // Assess
    expect(events).toEqual([]);
    expect(state.probes.site).toMatchObject({
      flapping: true,
      recent: '-+-+-+-+-+-+',
      consecutiveSuccesses: 2,
    });
  });
});

describe('the maintenance bound', () => {
  const options = { maintenance: { reason: 'run deploy-1' }, maintenanceAlertAfterMinutes: 120 };

  it('never alerts a probe that stays up through a long maintenance', () => {
    // Act
    const { events } = play('+'.repeat(200), options);

    // Assess
    expect(events).toEqual([]);
  });

  it('records the probe alerted, still down, once the bound alerted it', () => {
    // Act: down from round 0 (5 failures), alerted on round 120.
    const { events, state } = play('-'.repeat(122), options);

    // Assess
    expect(events.map((e) => [e.kind, e.round, e.alert])).toEqual([
      ['down', 4, false],
      ['down-in-maintenance', 120, true],
    ]);
    expect(state.probes.site).toMatchObject({
      status: 'down',
      alerted: true,
      since: at(0),
      consecutiveFailures: 122,
    });
  });
});

/** A probe already down (and alerted), as the store keeps it. */
function down(probe: string, host?: string): ProbeState {
  return {
    probe,
    ...(host ? { host } : {}),
    status: 'down',
    consecutiveFailures: 5,
    consecutiveSuccesses: 0,
    since: at(-10),
    failingSince: at(-10),
    lastOk: false,
    lastDetail: 'failing',
    lastAt: at(-1),
    alerted: true,
  };
}

function stateWith(probes: ProbeState[], extra: Partial<TargetHealthState> = {}): TargetHealthState {
  return {
    ...emptyHealthState('t'),
    probes: Object.fromEntries(probes.map((p) => [p.host ? `${p.probe}@${p.host}` : p.probe, p])),
    ...extra,
  };
}

const LIMITS = { cooldownMinutes: 30, maxPerDay: 3 };

function foldAt(previous: TargetHealthState, results: ProbeResult[], extra: Partial<FoldOptions> = {}) {
  return foldRound(previous, results, {
    now: new Date(T0),
    failureThreshold: 3,
    successThreshold: 2,
    conditions: {},
    ...extra,
  });
}

describe('recovery decisions', () => {
  it("with routes, counts only the runbook's own starts: an older run's starts of any runbook do not cool it down", () => {
    // Prepare: a recovery started 5 minutes ago, recorded before runbooks kept their own starts.
    const previous = stateWith([down('site')], { recoveries: [at(-5)] });

    // Act
    const fold = foldAt(previous, [{ probe: 'site', ok: false, detail: '503' }], {
      routes: { byProbe: { site: 'restart' }, limits: { restart: LIMITS } },
    });

    // Assess
    expect(fold.recoveries).toEqual([{ start: true, runbook: 'restart', reason: 'site is down: 503' }]);
    expect(fold.state.runbookStarts).toEqual({ restart: [at(0)] });
    expect(fold.state.recoveries).toEqual([at(-5), at(0)]);
  });

  it('names, in the reason, the hosts of the first down probe only, not those of other probes', () => {
    // Prepare
    const previous = stateWith([down('disk', 'i-0aaaaaaaa'), down('unit', 'i-0bbbbbbbb')]);

    // Act
    const fold = foldAt(
      previous,
      [
        { probe: 'disk', host: 'i-0aaaaaaaa', ok: false, detail: '91% used' },
        { probe: 'unit', host: 'i-0bbbbbbbb', ok: false, detail: 'inactive' },
      ],
      { routes: { byProbe: { disk: 'restart', unit: 'restart' }, limits: { restart: LIMITS } } },
    );

    // Assess: two hosts, so no one instance to replace.
    expect(fold.recoveries).toEqual([
      { start: true, runbook: 'restart', reason: 'disk on i-0aaaaaaaa is down: 91% used' },
    ]);
  });

  it('names every host of one probe down on several, separated by commas', () => {
    // Prepare
    const previous = stateWith([down('unit', 'i-0aaaaaaaa'), down('unit', 'i-0bbbbbbbb')]);

    // Act
    const fold = foldAt(
      previous,
      [
        { probe: 'unit', host: 'i-0aaaaaaaa', ok: false, detail: 'inactive' },
        { probe: 'unit', host: 'i-0bbbbbbbb', ok: false, detail: 'inactive' },
      ],
      { onFailure: { runbook: 'restart', ...LIMITS } },
    );

    // Assess
    expect(fold.recovery).toEqual({
      start: true,
      runbook: 'restart',
      reason: 'unit on i-0aaaaaaaa, i-0bbbbbbbb is down: inactive',
    });
  });

  it.each([
    ['i-0123abcd', { instance: 'i-0123abcd' }],
    ['web-i-0123abcd', {}],
    ['i-0123abcd.internal', {}],
  ])('tells the runbook the instance only when the one host is an instance id (%s)', (host, instance) => {
    // Act
    const fold = foldAt(
      stateWith([down('unit', host)]),
      [{ probe: 'unit', host, ok: false, detail: 'inactive' }],
      {
        onFailure: { runbook: 'replace', ...LIMITS },
      },
    );

    // Assess
    expect(fold.recovery).toEqual({
      start: true,
      runbook: 'replace',
      reason: `unit on ${host} is down: inactive`,
      ...instance,
    });
  });

  it("keeps each runbook's starts of the last two days, a start two days old no longer", () => {
    // Prepare
    const twoDays = 2 * 24 * 60;
    const previous = stateWith([], {
      runbookStarts: {
        restart: [at(-twoDays - 1), at(-twoDays), at(-twoDays + 1), at(-60)],
        reboot: [at(-twoDays)],
      },
    });

    // Act
    const fold = foldAt(previous, [{ probe: 'site', ok: true, detail: '200' }]);

    // Assess
    expect(fold.state.runbookStarts).toEqual({ restart: [at(-twoDays + 1), at(-60)], reboot: [] });
  });
});

describe('what the state keeps besides the probes', () => {
  const ok: ProbeResult[] = [{ probe: 'site', ok: true, detail: '200' }];

  it.each([
    ["this round's", undefined, 'i-0bbbbbbbb', 'i-0bbbbbbbb'],
    ['the last one', 'i-0aaaaaaaa', undefined, 'i-0aaaaaaaa'],
    ["this round's over the last one", 'i-0aaaaaaaa', 'i-0bbbbbbbb', 'i-0bbbbbbbb'],
  ])('keeps the fleet host: %s', (_, last, thisRound, kept) => {
    // Act
    const { state } = foldAt({ ...emptyHealthState('t'), ...(last ? { fleetHost: last } : {}) }, ok, {
      ...(thisRound ? { fleetHost: thisRound } : {}),
    });

    // Assess
    expect(state.fleetHost).toBe(kept);
  });

  it('keeps no fleet host when none was ever chosen', () => {
    expect('fleetHost' in foldAt(emptyHealthState('t'), ok).state).toBe(false);
  });

  it("hands back the previous day's counts on the first round of a new day, and nothing during a day", () => {
    // Prepare
    const yesterday = { day: '2026-03-01', probes: { site: { n: 1440, ok: 1437 } } };

    // Act
    const first = foldAt({ ...emptyHealthState('t'), today: yesterday }, ok);
    const second = foldAt(first.state, ok);

    // Assess
    expect(first.finishedDay).toEqual({ day: '2026-03-01', probes: { site: { n: 1440, ok: 1437 } } });
    expect(first.state.today).toEqual({ day: '2026-03-02', probes: { site: { n: 1, ok: 1 } } });
    expect('finishedDay' in second).toBe(false);
  });
});
