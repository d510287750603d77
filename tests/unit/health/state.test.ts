/**
 * The transition logic on long sequences: flapping, thresholds, recovery during a maintenance,
 * the end of a maintenance, the recovery cooldown and daily cap; and overlapping writes that must
 * never lose a transition.
 */
import { describe, expect, it } from 'vitest';
import type { HealthRecord, HealthStateStore, ProbeResult } from '../../../shared/drivers/ports.ts';
import { recordRound } from '../../../shared/health/check.ts';
import {
  emptyHealthState,
  type FoldOptions,
  foldRound,
  formatDuration,
  type HealthEvent,
  openWindow,
  type TargetHealthState,
} from '../../../shared/health/state.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const MINUTE = 60_000;

/** Folds a sequence of pass/fail rounds (`'+'` passes, `'-'` fails), one a minute. */
function play(
  sequence: string,
  options: Partial<FoldOptions> & { maintenanceAt?: (i: number) => string | undefined } = {},
  start: TargetHealthState = emptyHealthState('t'),
) {
  let state = start;
  const events: (HealthEvent & { round: number })[] = [];
  const recoveries: number[] = [];
  [...sequence].forEach((mark, round) => {
    const results: ProbeResult[] = [
      {
        probe: 'site',
        ok: mark === '+',
        detail: mark === '+' ? '200 in 5 ms' : 'expected status 200, got 503',
      },
    ];
    const maintenance = options.maintenanceAt?.(round);
    const fold = foldRound(state, results, {
      now: new Date(T0 + round * MINUTE),
      failureThreshold: options.failureThreshold ?? 3,
      successThreshold: options.successThreshold ?? 2,
      conditions: { site: 'GET https://x/ → status 200' },
      ...(maintenance ? { maintenance: { reason: maintenance } } : {}),
      ...(options.onFailure ? { onFailure: options.onFailure } : {}),
    });
    state = fold.state;
    events.push(...fold.events.map((e) => ({ ...e, round })));
    if (fold.recovery?.start) recoveries.push(round);
  });
  return { state, events, recoveries };
}

describe('foldRound', () => {
  it('never alerts a probe that flaps below its failure threshold', () => {
    const { events, state } = play('+-+--+--+-+--+'.repeat(5));
    expect(events).toEqual([]);
    expect(state.probes.site?.status).toBe('up');
  });

  it('goes down after 3 failures, up after 2 successes, with since and how long it was down', () => {
    // Act
    const { events } = play('++---+-++---++');

    // Assess
    expect(events.map((e) => [e.kind, e.round, e.alert])).toEqual([
      ['down', 4, true],
      ['up', 8, true],
      ['down', 11, true],
      ['up', 13, true],
    ]);
    expect(events[0]).toMatchObject({
      since: new Date(T0 + 2 * MINUTE).toISOString(),
      consecutiveFailures: 3,
      detail: 'expected status 200, got 503',
      condition: 'GET https://x/ → status 200',
    });
    expect(events[1]).toMatchObject({ downForMs: 6 * MINUTE, detail: '200 in 5 ms' });
  });

  it('a single pass while down does not bring it up with a success threshold of 2', () => {
    const { events } = play('---+-+-+-+-++');
    expect(events.map((e) => [e.kind, e.round])).toEqual([
      ['down', 2],
      ['up', 12],
    ]);
  });

  it('records but does not alert a down state inside a maintenance, and alerts it when the maintenance ends still down', () => {
    // Act: a deploy holds the target for rounds 2-6; the probe fails from round 2 on.
    const { events } = play('++---------', {
      maintenanceAt: (i) => (i >= 2 && i <= 6 ? 'deploy run-9' : undefined),
    });

    // Assess
    expect(events.map((e) => [e.kind, e.round, e.alert, e.maintenance])).toEqual([
      ['down', 4, false, 'deploy run-9'],
      ['still-down', 7, true, 'deploy run-9'],
    ]);
  });

  it('says nothing when a probe goes down and recovers inside a maintenance', () => {
    const { events } = play('++----++++++', {
      maintenanceAt: (i) => (i >= 2 && i <= 9 ? 'window' : undefined),
    });
    expect(events.map((e) => [e.kind, e.alert])).toEqual([
      ['down', false],
      ['up', false],
    ]);
  });

  it('tells of a recovery during a maintenance when the failure had been alerted before it', () => {
    const { events } = play('---+++', { maintenanceAt: (i) => (i >= 3 ? 'recovery run' : undefined) });
    expect(events.map((e) => [e.kind, e.round, e.alert])).toEqual([
      ['down', 2, true],
      ['up', 4, true],
    ]);
  });

  it('starts the runbook once per cooldown while down, at most maxPerDay a day, never in a maintenance', () => {
    // Act: down from round 2 for 200 minutes; cooldown 30 min, 3 a day.
    const { recoveries } = play(`${'-'.repeat(200)}`, {
      onFailure: { runbook: 'restart', cooldownMinutes: 30, maxPerDay: 3 },
    });
    const inWindow = play('-'.repeat(40), {
      onFailure: { runbook: 'restart', cooldownMinutes: 30, maxPerDay: 3 },
      maintenanceAt: (i) => (i < 20 ? 'deploy' : undefined),
    });

    // Assess
    expect(recoveries).toEqual([2, 32, 62]);
    expect(inWindow.recoveries).toEqual([20]);
  });

  it.each([
    ['one instance down', [false, true], 'i-0a1b2c3d4e5f60002'],
    ['both instances down', [false, false], undefined],
  ])(
    'names the instance the runbook acts on when every down probe failed on one EC2 instance: %s',
    (_what, up, instance) => {
      // Prepare
      let state = emptyHealthState('t');
      let decision: ReturnType<typeof foldRound>['recovery'];

      // Act: three failing rounds of a probe on two instances.
      for (let round = 0; round < 3; round += 1) {
        const fold = foldRound(
          state,
          [
            {
              probe: 'app',
              host: 'i-0a1b2c3d4e5f60001',
              ok: up[1] as boolean,
              detail: up[1] ? 'ok' : 'down',
            },
            {
              probe: 'app',
              host: 'i-0a1b2c3d4e5f60002',
              ok: up[0] as boolean,
              detail: up[0] ? 'ok' : 'down',
            },
          ],
          {
            now: new Date(T0 + round * MINUTE),
            failureThreshold: 3,
            successThreshold: 2,
            conditions: { app: 'GET /' },
            onFailure: { runbook: 'replace', cooldownMinutes: 30, maxPerDay: 3 },
          },
        );
        state = fold.state;
        decision = fold.recovery ?? decision;
      }

      // Assess
      expect(decision).toMatchObject({ start: true, runbook: 'replace' });
      expect(decision && 'instance' in decision ? decision.instance : undefined).toBe(instance);
    },
  );

  it('counts the daily cap per UTC day', () => {
    // Prepare: three starts yesterday evening.
    const start = {
      ...emptyHealthState('t'),
      recoveries: ['2026-03-01T20:00:00.000Z', '2026-03-01T21:00:00.000Z', '2026-03-01T22:00:00.000Z'],
    };

    // Act
    const { recoveries } = play(
      '---',
      { onFailure: { runbook: 'r', cooldownMinutes: 10, maxPerDay: 3 } },
      start,
    );

    // Assess
    expect(recoveries).toEqual([2]);
  });

  it('keeps one state per probe and host', () => {
    const fold = foldRound(
      emptyHealthState('t'),
      [
        { probe: 'disk', host: 'i-1', ok: true, detail: '/ is 40% full' },
        { probe: 'disk', host: 'i-2', ok: false, detail: '/ is 95% full' },
      ],
      { now: new Date(T0), failureThreshold: 1, successThreshold: 1, conditions: {} },
    );
    expect(Object.keys(fold.state.probes)).toEqual(['disk@i-1', 'disk@i-2']);
    expect(fold.events.map((e) => [e.kind, e.host])).toEqual([['down', 'i-2']]);
  });
});

describe('recordRound with overlapping runs', () => {
  /** A store whose first `conflicts` writes lose to another run's write, made just before. */
  class RacingStore implements HealthStateStore {
    record: HealthRecord | undefined;
    conflicts: number;
    rival: (state: TargetHealthState) => TargetHealthState;
    constructor(conflicts: number, rival: (state: TargetHealthState) => TargetHealthState) {
      this.conflicts = conflicts;
      this.rival = rival;
    }
    async read() {
      return this.record;
    }
    async write(_target: string, body: string, expected: number) {
      if (this.conflicts > 0) {
        this.conflicts -= 1;
        const current = this.record
          ? (JSON.parse(this.record.body) as TargetHealthState)
          : emptyHealthState('t');
        const version = (this.record?.version ?? 0) + 1;
        this.record = { version, body: JSON.stringify({ ...this.rival(current), version }) };
        return false;
      }
      if ((this.record?.version ?? 0) !== expected) return false;
      this.record = { version: expected + 1, body };
      return true;
    }
  }

  it('folds again on the state the other run wrote, so its transition is kept and not alerted twice', async () => {
    // Prepare: two failures recorded; the rival run records the third (the down transition) first.
    const options = (minute: number): FoldOptions => ({
      now: new Date(T0 + minute * MINUTE),
      failureThreshold: 3,
      successThreshold: 2,
      conditions: {},
    });
    const fail: ProbeResult[] = [{ probe: 'site', ok: false, detail: '503' }];
    let state = emptyHealthState('t');
    for (const minute of [0, 1]) state = foldRound(state, fail, options(minute)).state;
    const store = new RacingStore(1, (current) => foldRound(current, fail, options(2)).state);
    store.record = { version: 2, body: JSON.stringify({ ...state, version: 2 }) };

    // Act
    const { fold, conflicts } = await recordRound(store, 't', 'run-4', (previous) =>
      foldRound(previous, fail, options(3)),
    );

    // Assess
    expect(conflicts).toBe(1);
    expect(fold.events).toEqual([]);
    expect(fold.state.probes.site).toMatchObject({ status: 'down', consecutiveFailures: 4 });
    expect(store.record?.version).toBe(4);
  });

  it('answers a run delivered twice from its record: no double count, the same events again', async () => {
    // Prepare: the third failure (the down transition) folded by run-3.
    const fail: ProbeResult[] = [{ probe: 'site', ok: false, detail: '503' }];
    const store = new RacingStore(0, (s) => s);
    const options = (minute: number): FoldOptions => ({
      now: new Date(T0 + minute * MINUTE),
      failureThreshold: 3,
      successThreshold: 2,
      conditions: {},
    });
    for (const minute of [0, 1, 2]) {
      await recordRound(store, 't', `run-${minute + 1}`, (p) => foldRound(p, fail, options(minute)));
    }

    // Act
    const again = await recordRound(store, 't', 'run-3', (p) => foldRound(p, fail, options(5)));

    // Assess
    expect(again.replayed).toBe(true);
    expect(again.fold.events.map((e) => e.kind)).toEqual(['down']);
    expect(again.fold.state.probes.site?.consecutiveFailures).toBe(3);
    expect(store.record?.version).toBe(3);
  });

  it('gives up with a clear error when every write loses', async () => {
    const store = new RacingStore(99, (s) => s);
    await expect(recordRound(store, 't', 'run-x', (p) => ({ state: p, events: [] }))).rejects.toThrow(
      'the health state of t kept changing under 5 overlapping writes',
    );
  });
});

describe('openWindow and formatDuration', () => {
  const sundayNight = { days: ['sun' as const], start: '23:30', durationMinutes: 60 };
  it('opens a window on its days and past midnight', () => {
    expect(openWindow([sundayNight], new Date('2026-03-01T23:45:00Z'))).toBe(sundayNight);
    expect(openWindow([sundayNight], new Date('2026-03-02T00:15:00Z'))).toBe(sundayNight);
    expect(openWindow([sundayNight], new Date('2026-03-02T00:31:00Z'))).toBeUndefined();
    expect(openWindow([sundayNight], new Date('2026-03-02T23:45:00Z'))).toBeUndefined();
    expect(
      openWindow([{ start: '03:00', durationMinutes: 30 }], new Date('2026-03-04T03:10:00Z')),
    ).toBeDefined();
  });
  it('says durations in words', () => {
    expect([45_000, 252_000, 3_600_000, 3_960_000, 200 * 3_600_000].map(formatDuration)).toEqual([
      '45 s',
      '4 min 12 s',
      '1 h',
      '1 h 6 min',
      '8 days 8 h',
    ]);
  });
});
