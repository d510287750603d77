/**
 * The state of a target's probes between scheduled checks, and the pure logic that folds a round
 * of results into it: consecutive failures and successes, since when, the last error; a probe
 * turns **down** after `failureThreshold` failing checks in a row and **up** again after
 * `successThreshold` passing ones. Only transitions make events; an event is alerted unless a
 * maintenance that mutes its probe is in progress (a deploy or recovery holding the target,
 * or a declared window, mutes every probe; a maintenance job only the probes it declares in `mute`),
 * and a probe that went down unalerted during a maintenance is alerted when the maintenance ends, if
 * still down.
 * A recovery runbook is started for a down probe at most once per cooldown and `maxPerDay` a day.
 */
import type { MaintenanceWindow } from '../config/schema.ts';
import type { ProbeResult } from '../drivers/ports.ts';
import { countRound, type HealthDay } from './history.ts';
import type { RecoveryRoutes, RunbookLimits } from './routing.ts';

export type ProbeStatus = 'up' | 'down';

/** One probe (on one host, for host-scoped probes) as the state store keeps it. */
export interface ProbeState {
  probe: string;
  host?: string;
  status: ProbeStatus;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** ISO time the current status began (for `down`: the first failure of the streak). */
  since: string;
  /** ISO time of the first failure of the current failing streak. */
  failingSince?: string;
  lastOk: boolean;
  lastDetail: string;
  lastAt: string;
  lastError?: { detail: string; at: string };
  /** A down alert was sent for the current down state. */
  alerted: boolean;
  /** The last checks, oldest first (`+` passed, `-` failed), as long as the flapping window. */
  recent?: string;
  /** The probe flaps: its transitions are recorded, not alerted, until it is stable again. */
  flapping?: boolean;
}

/** Everything kept for a target; `version` makes writes conditional. */
export interface TargetHealthState {
  target: string;
  version: number;
  probes: Record<string, ProbeState>;
  /** The maintenance in progress at the last check, and the probes it muted (every probe when absent). */
  maintenance?: { reason: string; since: string; probes?: string[] };
  /** ISO times a recovery runbook was started (the last two days), whichever runbook. */
  recoveries: string[];
  /** The host the fleet-wide probes ran on in the last round. */
  fleetHost?: string;
  /** The current day's counts of every probe's rounds (see `countRound`). */
  today?: HealthDay;
  /** ISO times each runbook was started (the last two days), for its own cooldown and cap. */
  runbookStarts?: Record<string, string[]>;
  /**
   * The last runs folded in, with what each decided: a run folded again (an Express execution
   * delivered twice, a retried Lambda) is answered from here, so it neither counts twice nor
   * loses the alerts of a first attempt that failed after writing.
   */
  runs?: RecordedRun[];
  updatedAt?: string;
  /** ISO time the health workflow last decided to publish the public status page. */
  statusPublishedAt?: string;
}

/** What one run's fold decided, kept in the state. */
export interface RecordedRun {
  runId: string;
  events: HealthEvent[];
  recovery?: RecoveryDecision;
  recoveries?: RecoveryDecision[];
  /** The run published the public status page. */
  publishStatus?: boolean;
}

/** Runs kept in {@link TargetHealthState.runs}. */
export const RECORDED_RUNS = 10;

/**
 * `down`, `up`: transitions; `still-down`: a down state that outlived a maintenance;
 * `down-in-maintenance`: down longer than the bound during a maintenance; `flapping`: the probe
 * alternates (its transitions are no longer alerted); `stable`: it stopped flapping.
 */
export type HealthEventKind = 'down' | 'up' | 'still-down' | 'down-in-maintenance' | 'flapping' | 'stable';

/** A transition (or a down state that outlived a maintenance). */
export interface HealthEvent {
  kind: HealthEventKind;
  probe: string;
  host?: string;
  /** What was observed last (`expected status 200, got 503`). */
  detail: string;
  /** The probe's condition, in words. */
  condition: string;
  /** ISO time the probe started failing (down) or went down (up). */
  since: string;
  consecutiveFailures: number;
  /** For `up`: how long it was down, in milliseconds. */
  downForMs?: number;
  /** Whether the event is alerted (false during a maintenance that mutes its probe). */
  alert: boolean;
  /** The maintenance that silenced it, or that it outlived (`still-down`). */
  maintenance?: string;
}

/** What a fold needs besides the state and the results. */
export interface FoldOptions {
  now: Date;
  failureThreshold: number;
  successThreshold: number;
  /** The condition of each probe, by probe name (for the alerts). */
  conditions: Readonly<Record<string, string>>;
  /**
   * The maintenance in progress now, if any, and the probes it mutes: every probe when `probes` is
   * absent (a deploy or recovery, a declared window), only those named for a maintenance job.
   */
  maintenance?: { reason: string; probes?: readonly string[] };
  /** One runbook for every probe (the section's `onFailure`, when no `routes` are given). */
  onFailure?: { runbook: string; cooldownMinutes: number; maxPerDay: number };
  /** The runbook each probe requests, with each runbook's limits (see `recoveryRoutes`). */
  routes?: RecoveryRoutes;
  /** Flapping detection; off when omitted. */
  flapping?: { window: number; ratio: number };
  /** Minutes a probe may stay down unalerted during a maintenance before it is alerted anyway. */
  maintenanceAlertAfterMinutes?: number;
  /** The host the fleet-wide probes ran on this round (kept for the next choice). */
  fleetHost?: string;
}

/** A recovery the fold decided to start (or why it did not). */
export type RecoveryDecision =
  | { start: true; runbook: string; reason: string; instance?: string }
  | { start: false; runbook: string; why: string };

export interface FoldResult {
  state: TargetHealthState;
  events: HealthEvent[];
  /** The first of {@link FoldResult.recoveries}. */
  recovery?: RecoveryDecision;
  /** One decision per runbook that a down probe requests. */
  recoveries?: RecoveryDecision[];
  /** The previous day's counts, finished by this round (to be stored in the history). */
  finishedDay?: HealthDay;
  /** Publish the public status page after this round (see `withStatusPublish`). */
  publishStatus?: boolean;
}

const DAY_MS = 86_400_000;

/**
 * The maintenance that mutes a probe, if it does: every probe when it names none, else only those
 * it names (a maintenance job's `mute`).
 *
 * @example
 * mutingReason({ reason: 'run r1 (maintenance "certs" of datizmo, muting tls)', probes: ['tls'] }, 'site') // undefined
 */
export function mutingReason(
  maintenance: { reason: string; probes?: readonly string[] } | undefined,
  probe: string,
): string | undefined {
  if (!maintenance) return undefined;
  return !maintenance.probes || maintenance.probes.includes(probe) ? maintenance.reason : undefined;
}

/**
 * The key of a probe's state: its name, and its host for host-scoped probes.
 *
 * @example
 * probeKey({ probe: 'disk', host: 'i-0abc' }) // 'disk@i-0abc'
 */
export function probeKey(result: { probe: string; host?: string }): string {
  return result.host ? `${result.probe}@${result.host}` : result.probe;
}

/**
 * The state of a target nothing was recorded for yet.
 *
 * @example
 * emptyHealthState('zmanim') // { target: 'zmanim', version: 0, probes: {}, recoveries: [] }
 */
export function emptyHealthState(target: string): TargetHealthState {
  return { target, version: 0, probes: {}, recoveries: [] };
}

/**
 * A duration in words, to the second under an hour.
 *
 * @example
 * formatDuration(252_000) // '4 min 12 s'
 */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 ? `${minutes} min ${seconds % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} days ${hours % 24} h`;
}

/** When each runbook was started, the older state (one list for every start) read as one runbook's. */
function startsOf(state: TargetHealthState, runbook: string, legacy: string | undefined): string[] {
  return state.runbookStarts?.[runbook] ?? (runbook === legacy ? state.recoveries : []);
}

function decideRecovery(
  state: TargetHealthState,
  options: FoldOptions,
  runbook: string,
  limits: RunbookLimits,
  down: ProbeState[],
  legacy: string | undefined,
): RecoveryDecision {
  if (options.maintenance) {
    return { start: false, runbook, why: `not started during ${options.maintenance.reason}` };
  }
  const now = options.now.getTime();
  const started = startsOf(state, runbook, legacy);
  const starts = started.map((at) => Date.parse(at)).filter((t) => Number.isFinite(t));
  const last = Math.max(-Infinity, ...starts);
  if (now - last < limits.cooldownMinutes * 60_000) {
    return {
      start: false,
      runbook,
      why: `started ${formatDuration(now - last)} ago, cooldown ${limits.cooldownMinutes} min`,
    };
  }
  const today = options.now.toISOString().slice(0, 10);
  const startedToday = started.filter((at) => at.slice(0, 10) === today).length;
  if (startedToday >= limits.maxPerDay) {
    return {
      start: false,
      runbook,
      why: `started ${startedToday} times today, at most ${limits.maxPerDay}`,
    };
  }
  const first = down[0]!;
  // The hosts where the same probe is down (a per-host probe down on several hosts).
  const hosts = down
    .filter((p) => p.probe === first.probe)
    .map((p) => p.host)
    .filter((h): h is string => h !== undefined);
  const where = hosts.length > 0 ? ` on ${[...new Set(hosts)].join(', ')}` : '';
  const reason = `${first.probe}${where} is down: ${first.lastDetail}`;
  // Every down probe failed on the same EC2 instance: the runbook is told which one (replace it, not another).
  const onHosts = new Set(down.map((d) => d.host));
  const only = onHosts.size === 1 ? first.host : undefined;
  return {
    start: true,
    runbook,
    reason,
    ...(only && /^i-[0-9a-f]{8,17}$/.test(only) ? { instance: only } : {}),
  };
}

/** The routes of a fold: the given ones, else the one `onFailure` runbook for every probe. */
function routesOf(options: FoldOptions, probes: readonly string[]): RecoveryRoutes | undefined {
  if (options.routes) return options.routes;
  const onFailure = options.onFailure;
  if (!onFailure) return undefined;
  return {
    byProbe: Object.fromEntries(probes.map((p) => [p, onFailure.runbook])),
    limits: { [onFailure.runbook]: onFailure },
  };
}

/** Whether the recent checks alternate enough, and fail often enough, to call the probe flapping. */
function flaps(recent: string, flapping: { window: number; ratio: number }): boolean {
  if (recent.length < Math.ceil(flapping.window / 2)) return false;
  const failures = [...recent].filter((c) => c === '-').length;
  let changes = 0;
  for (let i = 1; i < recent.length; i += 1) if (recent[i] !== recent[i - 1]) changes += 1;
  return failures / recent.length >= flapping.ratio && changes >= 3 && !stable(recent, flapping);
}

/** Whether a flapping probe is stable again: its last half-window of checks all agree. */
function stable(recent: string, flapping: { window: number }): boolean {
  const tail = recent.slice(-Math.ceil(flapping.window / 2));
  return tail.length >= Math.ceil(flapping.window / 2) && new Set(tail).size === 1;
}

/**
 * Folds one round of results into the state: counts, statuses, the events of the transitions, the
 * end of a maintenance, and whether to start the recovery runbook. Pure: the caller writes the
 * state (conditionally), then sends the alerted events and starts the recovery.
 *
 * @example
 * const { state, events } = foldRound(previous, results, { now: new Date(), failureThreshold: 3, successThreshold: 2, conditions });
 * events.filter((e) => e.alert) // what to publish
 */
export function foldRound(
  previous: TargetHealthState,
  results: readonly ProbeResult[],
  options: FoldOptions,
): FoldResult {
  const at = options.now.toISOString();
  const probes: Record<string, ProbeState> = { ...previous.probes };
  const events: HealthEvent[] = [];
  /** The maintenance that mutes a probe now, if one does. */
  const mutedBy = (probe: string): string | undefined => mutingReason(options.maintenance, probe);
  const event = (kind: HealthEventKind, probe: ProbeState, extra: Partial<HealthEvent> = {}): HealthEvent => {
    const maintenance = mutedBy(probe.probe);
    return {
      kind,
      probe: probe.probe,
      ...(probe.host ? { host: probe.host } : {}),
      detail: probe.lastDetail,
      condition: options.conditions[probe.probe] ?? probe.probe,
      since: probe.since,
      consecutiveFailures: probe.consecutiveFailures,
      alert: maintenance === undefined,
      ...(maintenance ? { maintenance } : {}),
      ...extra,
    };
  };

  for (const result of results) {
    const key = probeKey(result);
    const before: ProbeState = probes[key] ?? {
      probe: result.probe,
      ...(result.host ? { host: result.host } : {}),
      status: 'up',
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      since: at,
      lastOk: true,
      lastDetail: '',
      lastAt: at,
      alerted: false,
    };
    const next: ProbeState = { ...before, lastOk: result.ok, lastDetail: result.detail, lastAt: at };
    if (options.flapping) {
      next.recent = `${before.recent ?? ''}${result.ok ? '+' : '-'}`.slice(-options.flapping.window);
    }
    // A flapping probe's transitions are recorded, not alerted: its flapping was.
    const quiet = before.flapping === true;
    if (result.ok) {
      next.consecutiveSuccesses = before.consecutiveSuccesses + 1;
      next.consecutiveFailures = 0;
      delete next.failingSince;
      if (before.status === 'down' && next.consecutiveSuccesses >= options.successThreshold) {
        const downForMs = options.now.getTime() - Date.parse(before.since);
        const maintenance = mutedBy(before.probe);
        // A recovery is told to whoever was told of the failure, maintenance or not.
        events.push(
          event('up', next, {
            downForMs,
            since: before.since,
            alert: before.alerted && !quiet,
            ...(before.alerted || !maintenance ? {} : { maintenance }),
          }),
        );
        next.status = 'up';
        next.since = at;
        next.alerted = false;
      }
    } else {
      next.consecutiveFailures = before.consecutiveFailures + 1;
      next.consecutiveSuccesses = 0;
      next.failingSince = before.failingSince ?? at;
      next.lastError = { detail: result.detail, at };
      if (before.status === 'up' && next.consecutiveFailures >= options.failureThreshold) {
        next.status = 'down';
        next.since = next.failingSince;
        const down = event('down', next, quiet ? { alert: false } : {});
        next.alerted = down.alert;
        events.push(down);
      }
    }
    if (options.flapping && next.recent) {
      if (!before.flapping && flaps(next.recent, options.flapping)) {
        next.flapping = true;
        const failures = [...next.recent].filter((c) => c === '-').length;
        events.push(
          event('flapping', next, {
            detail: `${failures} of the last ${next.recent.length} checks failed, alternating; last: ${next.lastDetail}`,
            since: at,
          }),
        );
      } else if (before.flapping && stable(next.recent, options.flapping)) {
        delete next.flapping;
        events.push(event('stable', next, { since: at }));
        // Stable and down, but its down was not alerted while it flapped.
        if (next.status === 'down' && !next.alerted) {
          const down = event('down', next);
          next.alerted = down.alert;
          events.push(down);
        }
      }
    }
    probes[key] = next;
  }

  // A probe down for longer than the bound during a maintenance is alerted anyway.
  const bound = options.maintenanceAlertAfterMinutes;
  if (options.maintenance && bound !== undefined) {
    for (const [key, probe] of Object.entries(probes)) {
      const maintenance = mutedBy(probe.probe);
      const downFor = options.now.getTime() - Date.parse(probe.since);
      if (maintenance && probe.status === 'down' && !probe.alerted && downFor >= bound * 60_000) {
        events.push(event('down-in-maintenance', probe, { alert: true, maintenance }));
        probes[key] = { ...probe, alerted: true };
      }
    }
  }

  // A maintenance that ended with probes it muted still down, that nobody was told about.
  if (previous.maintenance && !options.maintenance) {
    for (const [key, probe] of Object.entries(probes)) {
      if (probe.status === 'down' && !probe.alerted && mutingReason(previous.maintenance, probe.probe)) {
        events.push(event('still-down', probe, { alert: true, maintenance: previous.maintenance.reason }));
        probes[key] = { ...probe, alerted: true };
      }
    }
  }

  const counted = countRound(previous.today, results, options.now);
  const state: TargetHealthState = {
    target: previous.target,
    version: previous.version,
    probes,
    recoveries: previous.recoveries.filter((t) => options.now.getTime() - Date.parse(t) < 2 * DAY_MS),
    ...(previous.runbookStarts
      ? {
          runbookStarts: Object.fromEntries(
            Object.entries(previous.runbookStarts).map(([runbook, starts]) => [
              runbook,
              starts.filter((t) => options.now.getTime() - Date.parse(t) < 2 * DAY_MS),
            ]),
          ),
        }
      : {}),
    ...(previous.runs ? { runs: previous.runs } : {}),
    ...((options.fleetHost ?? previous.fleetHost)
      ? { fleetHost: options.fleetHost ?? previous.fleetHost }
      : {}),
    today: counted.today,
    updatedAt: at,
  };
  if (options.maintenance) {
    const { reason, probes: muted } = options.maintenance;
    state.maintenance = {
      reason,
      since: previous.maintenance?.reason === reason ? previous.maintenance.since : at,
      ...(muted ? { probes: [...muted] } : {}),
    };
  }
  const routes = routesOf(options, [...new Set(Object.values(probes).map((p) => p.probe))]);
  const legacy = options.routes ? undefined : options.onFailure?.runbook;
  const decisions: RecoveryDecision[] = [];
  for (const [runbook, limits] of Object.entries(routes?.limits ?? {})) {
    const down = Object.values(probes).filter(
      (p) => p.status === 'down' && routes?.byProbe[p.probe] === runbook,
    );
    if (down.length === 0) continue;
    const decision = decideRecovery(state, options, runbook, limits, down, legacy);
    if (decision.start) {
      const starts = startsOf(state, runbook, legacy);
      state.recoveries = [...state.recoveries, at];
      state.runbookStarts = { ...state.runbookStarts, [runbook]: [...starts, at] };
    }
    decisions.push(decision);
  }
  return {
    state,
    events,
    ...(decisions[0] ? { recovery: decisions[0], recoveries: decisions } : {}),
    ...(counted.finished ? { finishedDay: counted.finished } : {}),
  };
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/**
 * The declared maintenance window open at `now` (UTC), if any; a window that opens late on one
 * day and runs past midnight counts on the next day too.
 *
 * @example
 * openWindow([{ days: ['sun'], start: '03:00', durationMinutes: 60 }], new Date('2026-03-01T03:30:00Z')) // the window
 */
export function openWindow(
  windows: readonly MaintenanceWindow[] | undefined,
  now: Date,
): MaintenanceWindow | undefined {
  for (const window of windows ?? []) {
    const [hours, minutes] = window.start.split(':').map(Number) as [number, number];
    // The window may have opened today or yesterday (one that runs past midnight).
    for (const daysAgo of [0, 1]) {
      const opened = Date.UTC(
        now.getUTCFullYear(),
        now.getUTCMonth(),
        now.getUTCDate() - daysAgo,
        hours,
        minutes,
      );
      const day = DAYS[new Date(opened).getUTCDay()]!;
      if (window.days && !window.days.includes(day)) continue;
      const t = now.getTime();
      if (t >= opened && t < opened + window.durationMinutes * 60_000) return window;
    }
  }
  return undefined;
}
