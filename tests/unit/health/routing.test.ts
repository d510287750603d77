/**
 * Probe → runbook: a probe's own runbook, else its group's, else the `onFailure` default; `false`
 * only alerts; each runbook keeps its own cooldown and daily cap in the fold. And the schema's
 * refusals: an unknown runbook or probe, a probe in two groups, a fleet scope on a probe that does
 * not run on the hosts, a maintenance window that never closes.
 */
import { describe, expect, it } from 'vitest';
import { formatPath } from '../../../shared/config/load.ts';
import { type Health, targetSchema } from '../../../shared/config/schema.ts';
import type { HostRef, ProbeResult } from '../../../shared/drivers/ports.ts';
import { chooseFleetHost } from '../../../shared/health/fleet.ts';
import { recoveryRoutes } from '../../../shared/health/routing.ts';
import { emptyHealthState, foldRound, type TargetHealthState } from '../../../shared/health/state.ts';

function target(health: Record<string, unknown>) {
  return {
    name: 'r',
    description: 'routing',
    hosts: { type: 'local', directory: '/tmp/r' },
    health: {
      schedule: 'rate(1 minute)',
      probes: [
        { name: 'site', type: 'http', url: 'https://r.example/' },
        { name: 'cert', type: 'tls', host: 'r.example', minDaysLeft: 14, runbook: false },
        {
          name: 'queue',
          type: 'command',
          script: 'echo 3',
          outputCompare: '< 60',
          scope: 'fleet',
          runbook: 'flush',
        },
        { name: 'unit', type: 'command', script: 'true' },
      ],
      ...health,
    },
    recovery: Object.fromEntries(
      ['restart', 'flush', 'reboot'].map((name) => [
        name,
        { description: name, steps: [{ type: 'script', name: 's', script: 'true', timeout: 5 }] },
      ]),
    ),
  };
}

function issues(value: unknown): string[] {
  const result = targetSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

function health(extra: Record<string, unknown>): Health {
  return targetSchema.parse(target(extra)).health!;
}

describe('recoveryRoutes', () => {
  it("maps each probe to its own runbook, else its group's, else the default; false only alerts", () => {
    const routes = recoveryRoutes(
      health({
        onFailure: { runbook: 'restart', cooldownMinutes: 10, maxPerDay: 5 },
        groups: { host: { probes: ['unit'], runbook: 'reboot' } },
        runbooks: { flush: { cooldownMinutes: 60, maxPerDay: 1 } },
      }),
    );
    expect(routes.byProbe).toEqual({ site: 'restart', queue: 'flush', unit: 'reboot' });
    expect(routes.limits).toEqual({
      restart: { cooldownMinutes: 10, maxPerDay: 5 },
      flush: { cooldownMinutes: 60, maxPerDay: 1 },
      reboot: { cooldownMinutes: 30, maxPerDay: 3 },
    });
  });

  it('without a default, a probe that names no runbook only alerts', () => {
    expect(recoveryRoutes(health({})).byProbe).toEqual({ queue: 'flush' });
  });
});

describe('the fold with routes', () => {
  const at = (minute: number) => new Date(Date.parse('2026-03-02T10:00:00Z') + minute * 60_000);

  it('starts each runbook for its own probes, each with its own cooldown', () => {
    const routes = recoveryRoutes(
      health({ onFailure: { runbook: 'restart', cooldownMinutes: 5, maxPerDay: 10 } }),
    );
    let state: TargetHealthState = emptyHealthState('r');
    const starts: string[] = [];
    for (let minute = 0; minute < 20; minute += 1) {
      const results: ProbeResult[] = [
        { probe: 'queue', ok: false, detail: '95' },
        // site fails from minute 8 on
        { probe: 'site', ok: minute < 8, detail: minute < 8 ? '200' : '503' },
        { probe: 'cert', ok: false, detail: 'expires in 3 days' },
      ];
      const fold = foldRound(state, results, {
        now: at(minute),
        failureThreshold: 2,
        successThreshold: 1,
        conditions: {},
        routes,
        ...(minute === 0 ? {} : {}),
      });
      state = fold.state;
      for (const d of fold.recoveries ?? []) if (d.start) starts.push(`${minute}:${d.runbook}`);
    }
    // flush: cooldown 30 min (its default), once; restart: every 5 min from minute 9; cert: never
    expect(starts).toEqual(['1:flush', '9:restart', '14:restart', '19:restart']);
    expect(Object.keys(state.runbookStarts ?? {}).sort()).toEqual(['flush', 'restart']);
  });
});

describe('chooseFleetHost', () => {
  const host = (id: string): HostRef => ({ kind: 'local', id, directory: `/h/${id}` }) as HostRef;

  it('prefers the host with no failing probe, then the last one chosen, then the first by id', () => {
    const state = emptyHealthState('r');
    expect(chooseFleetHost([host('b'), host('a')], state)?.id).toBe('a');
    const withState: TargetHealthState = {
      ...state,
      fleetHost: 'c',
      probes: {
        'unit@a': {
          probe: 'unit',
          host: 'a',
          status: 'down',
          consecutiveFailures: 3,
          consecutiveSuccesses: 0,
          since: '',
          lastOk: false,
          lastDetail: '',
          lastAt: '',
          alerted: true,
        },
      },
    };
    expect(chooseFleetHost([host('a'), host('b'), host('c')], withState)?.id).toBe('c');
    expect(chooseFleetHost([host('a'), host('b')], withState)?.id).toBe('b');
    expect(chooseFleetHost([], withState)).toBeUndefined();
  });
});

describe('routing and maintenance in the schema', () => {
  it('accepts the routes and refuses unknown runbooks, unknown probes and a probe in two groups', () => {
    expect(issues(target({ groups: { web: { probes: ['site', 'unit'], runbook: 'restart' } } }))).toEqual([]);
    expect(
      issues(
        target({
          groups: {
            web: { probes: ['site', 'nope'], runbook: 'missing' },
            more: { probes: ['site'], runbook: 'reboot' },
          },
          runbooks: { absent: { cooldownMinutes: 5 } },
        }),
      ),
    ).toEqual([
      'health.groups.web.runbook: no recovery runbook named "missing"',
      'health.groups.web.probes[1]: no health probe named "nope"',
      'health.groups.more.probes[0]: probe "site" is already in group "web": a probe requests one runbook',
      'health.runbooks.absent: no recovery runbook named "absent"',
    ]);
  });

  it('refuses a fleet scope on a probe from outside, and a probe runbook the target lacks', () => {
    const bad = target({});
    bad.health.probes[0] = {
      name: 'site',
      type: 'http',
      url: 'https://r.example/',
      scope: 'fleet',
      runbook: 'gone',
    } as never;
    expect(issues(bad)).toEqual([
      'health.probes[0].runbook: no recovery runbook named "gone"',
      'health.probes[0].scope: only a probe that runs on the hosts can run once per round on one of them (scope: "fleet")',
    ]);
  });

  it('refuses a maintenance window that never closes, and accepts one that does', () => {
    expect(
      issues(
        target({
          maintenance: [
            { start: '00:00', durationMinutes: 1440 },
            {
              days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
              start: '03:00',
              durationMinutes: 1440,
            },
            { days: ['sun'], start: '03:00', durationMinutes: 1440 },
            { start: '03:00', durationMinutes: 1439 },
          ],
        }),
      ),
    ).toEqual([
      'health.maintenance[0]: this window never closes (it covers the whole week): probes would never alert',
      'health.maintenance[1]: this window never closes (it covers the whole week): probes would never alert',
    ]);
  });

  it('refuses windows that close alone but together cover the whole week', () => {
    const together =
      'health.maintenance: these windows together never close (they cover the whole week): probes would never alert';
    // Two halves of every day.
    expect(
      issues(
        target({
          maintenance: [
            { start: '00:00', durationMinutes: 720 },
            { start: '12:00', durationMinutes: 720 },
          ],
        }),
      ),
    ).toEqual([together]);
    // Weekdays all day, and Saturday's second window running past midnight into Sunday noon.
    const weekend = (sundayMinutes: number) =>
      target({
        maintenance: [
          { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '00:00', durationMinutes: 1440 },
          { days: ['sat'], start: '00:00', durationMinutes: 720 },
          { days: ['sat'], start: '12:00', durationMinutes: 1440 },
          { days: ['sun'], start: '12:00', durationMinutes: sundayMinutes },
        ],
      });
    expect(issues(weekend(720))).toEqual([together]);
    // One minute left open (Sunday 23:59) is a week that closes.
    expect(issues(weekend(719))).toEqual([]);
  });
});
