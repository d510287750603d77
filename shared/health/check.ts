/**
 * The logic of the tasks of the health workflow: check the target (probe it once, then record the
 * round: fold it into the stored state with a conditional write, alert on transitions, start the
 * recovery runbook), and report a run that could not check. Handlers only parse their input and
 * call these with the real dependencies.
 */

import type { Target } from '../config/schema.ts';
import { hostSelector } from '../drivers/options.ts';
import type {
  HealthHistoryStore,
  HealthStateStore,
  HostDirectory,
  HostRef,
  HostSurvey,
  LeaseReader,
  Notifier,
  ProbeResult,
  ProbeRunner,
  RecoveryStarter,
  RunLiveness,
} from '../drivers/ports.ts';
import { targetLeaseKey } from '../lease-keys.ts';
import { type RecoveryNote, roundNotification } from './alerts.ts';
import type { CheckTargetInput, HealthRunSummary, NotifyHealthFailureInput } from './contracts.ts';
import { rejectionReason } from './failure.ts';
import { chooseFleetHost, isFleetProbe } from './fleet.ts';
import { isHostSideProbe } from './host-probes.ts';
import { describeProbe } from './plan.ts';
import { runProbeRound } from './round.ts';
import { recoveryRoutes } from './routing.ts';
import {
  emptyHealthState,
  type FoldResult,
  foldRound,
  openWindow,
  RECORDED_RUNS,
  type RecordedRun,
  type TargetHealthState,
} from './state.ts';
import { publicProbeNames, withStatusPublish } from './status-publish.ts';
import { publishGrouped } from './storm.ts';

/** Characters of a probe's detail kept in the state and the store. */
export const HEALTH_DETAIL_LIMIT = 300;
/** Attempts to write the state when overlapping runs keep winning. */
const WRITE_ATTEMPTS = 5;

/** What the health steps need from the outside world (tests swap any of them). */
export interface HealthDeps {
  findTarget(name: string): Target;
  hosts(target: Target): HostDirectory;
  probes(target: Target): ProbeRunner;
  store(target: Target): HealthStateStore;
  /** The uptime history (finished days); absent: no history is kept. */
  history?(target: Target): HealthHistoryStore;
  leases(target: Target): LeaseReader;
  /** Whether the run holding a lease is alive; absent (or unknown): a held lease counts. */
  runs?(target: Target): RunLiveness;
  recoveries(target: Target): RecoveryStarter;
  notifier(target: Target): Notifier;
  /** Where a notification goes when its target is unknown. */
  fallbackNotifier(): Notifier;
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Milliseconds a run that alerts first waits for other targets' alerts, to send them as one
   * message (see `publishGrouped`); 0 or absent: each run publishes its own at once.
   */
  alertWindowMs?: number;
  /** Sleeps; a real timer by default. */
  sleep?(ms: number): Promise<void>;
}

/** One round of probes, as probing hands it to recording. */
export interface ProbeRound {
  target: string;
  runId: string;
  /** ISO time the round started. */
  at: string;
  hosts: number;
  /** Each probe's result, its detail cut at {@link HEALTH_DETAIL_LIMIT} characters. */
  results: ProbeResult[];
  /** The host the fleet-wide probes ran on, if any ran. */
  fleetHost?: string;
}

/** Not a health check: the target declares no `health` section. */
export class NoHealthSectionError extends Error {
  constructor(target: string) {
    super(`target "${target}" has no health section to check`);
    this.name = 'NoHealthSectionError';
  }
}

function healthOf(target: Target): NonNullable<Target['health']> {
  if (!target.health) throw new NoHealthSectionError(target.name);
  return target.health;
}

/** The hosts the instance probes ask AWS about: every declared instance, even one whose agent is offline. */
function instanceHosts(target: Target, resolved: HostRef[]): HostRef[] {
  const hosts = target.hosts;
  if (hosts.type === 'ec2' && 'instanceIds' in hosts) {
    return hosts.instanceIds.map((id) => ({ kind: 'ec2' as const, id, region: hosts.region }));
  }
  return resolved;
}

/**
 * The probe half of check-target: resolves the target's hosts and runs every probe once (the
 * host-side ones as one command per host set). A running host whose SSM agent is offline (`ConnectionLost`) is not asked to run host
 * probes: its `ssm-agent` probe goes down when the target has one, else each of its host probes.
 *
 * @example
 * await probeTargetStep({ target: 'demo', runId: 'health-demo-1' }, deps) // { results: [{ probe: 'app-health', ok: true, … }], … }
 */
export async function probeTargetStep(input: CheckTargetInput, deps: HealthDeps): Promise<ProbeRound> {
  const target = deps.findTarget(input.target);
  const health = healthOf(target);
  const at = new Date(deps.now()).toISOString();
  const runner = deps.probes(target);
  // The probes from the prober need no host: they run while the hosts are looked up (on AWS,
  // DescribeInstances and DescribeInstanceInformation), so the round lasts as long as the slower
  // of the two, not both.
  const prober = health.probes.filter(
    (p) => !isHostSideProbe(p) && p.type !== 'ec2-status' && p.type !== 'ssm-agent',
  );
  const fromProberRound = runProbeRound(runner, prober, []);
  let hosts: HostRef[];
  let unreachable: HostSurvey['unreachable'] = [];
  let hostsError: string | undefined;
  try {
    const directory = deps.hosts(target);
    const selector = hostSelector(target);
    if (directory.survey) {
      ({ reachable: hosts, unreachable } = await directory.survey(selector));
    } else {
      hosts = await directory.resolve(selector);
    }
  } catch (error) {
    hosts = [];
    hostsError = `the hosts could not be resolved: ${rejectionReason(error)}`;
  }
  const hostSide = health.probes.filter((p) => isHostSideProbe(p) && !isFleetProbe(p));
  const fleet = health.probes.filter(isFleetProbe);
  let fleetHost: HostRef | undefined;
  if (fleet.length > 0 && hosts.length > 0) {
    const record = await deps
      .store(target)
      .read(target.name)
      .catch(() => undefined);
    fleetHost = chooseFleetHost(hosts, parseState(target.name, record?.body));
  }
  const instance = health.probes.filter((p) => p.type === 'ec2-status' || p.type === 'ssm-agent');
  // A running host that cannot take commands is down for its host probes, not skipped (unless an
  // ssm-agent probe already reports it).
  const silentHosts = health.probes.some((p) => p.type === 'ssm-agent') ? [] : unreachable;
  const [fromProber, fromHosts, ofInstances, fromFleet] = await Promise.all([
    fromProberRound,
    hosts.length > 0
      ? runProbeRound(runner, hostSide, hosts)
      : Promise.resolve(
          silentHosts.length > 0
            ? []
            : hostSide.map(
                (p): ProbeResult => ({
                  probe: p.name,
                  ok: false,
                  detail:
                    hostsError ??
                    'no host of the target can take commands now (none running with an online SSM agent)',
                }),
              ),
        ),
    runProbeRound(runner, instance, instanceHosts(target, hosts)),
    fleetHost
      ? runProbeRound(runner, fleet, [fleetHost]).then((results) =>
          // One result per target: the host it ran on is told in the detail, not in the key.
          results.map(
            ({ host: _host, ...r }): ProbeResult => ({ ...r, detail: `on ${fleetHost.id}: ${r.detail}` }),
          ),
        )
      : Promise.resolve(
          fleet.map(
            (p): ProbeResult => ({
              probe: p.name,
              ok: false,
              detail:
                hostsError ?? 'no host of the target can take commands now, to run this fleet-wide probe',
            }),
          ),
        ),
  ]);
  const fromUnreachable = silentHosts.flatMap(({ host, why }) =>
    hostSide.map(
      (p): ProbeResult => ({
        probe: p.name,
        host: host.id,
        ok: false,
        detail: `the host cannot take commands: ${why}`,
      }),
    ),
  );
  const results = [...fromProber, ...fromHosts, ...fromUnreachable, ...ofInstances, ...fromFleet].map(
    (r) => ({
      probe: r.probe,
      ok: r.ok,
      detail: r.detail.slice(0, HEALTH_DETAIL_LIMIT),
      ...(r.host ? { host: r.host } : {}),
      ...(r.latencyMs !== undefined ? { latencyMs: r.latencyMs } : {}),
    }),
  );
  return {
    target: target.name,
    runId: input.runId,
    at,
    hosts: hosts.length,
    results,
    ...(fleetHost ? { fleetHost: fleetHost.id } : {}),
  };
}

/**
 * The maintenance in progress: a run holding the target's lease (a deploy or recovery mutes
 * every probe; a maintenance job only the probes its lease says it mutes), or a declared window.
 */
async function maintenanceNow(
  target: Target,
  deps: HealthDeps,
  now: Date,
): Promise<{ reason: string; probes?: string[] } | undefined> {
  const lease = await deps.leases(target).holder(targetLeaseKey(target.name));
  // A lease left by a run that ended or died is no maintenance. A lease names its run's execution
  // (asked of Step Functions on a stage, or the local run record); a lease without one, its owner.
  const alive =
    lease && deps.runs ? await deps.runs(target).alive(lease.execution ?? lease.owner) : undefined;
  if (lease && alive !== false) {
    if (lease.maintenance) {
      const { job, mute } = lease.maintenance;
      return {
        reason: `run ${lease.owner} (maintenance "${job}" of ${target.name}, muting ${mute.length ? mute.join(', ') : 'no probe'})`,
        probes: [...mute],
      };
    }
    return { reason: `run ${lease.owner} (a deploy, recovery or maintenance of ${target.name})` };
  }
  const window = openWindow(target.health?.maintenance, now);
  if (window) {
    return {
      reason: `the maintenance window ${window.days ? `${window.days.join(',')} ` : 'daily '}${window.start} UTC (${window.durationMinutes} min)`,
    };
  }
  return undefined;
}

function parseState(target: string, body: string | undefined): TargetHealthState {
  if (!body) return emptyHealthState(target);
  try {
    const parsed = JSON.parse(body) as TargetHealthState;
    return parsed && typeof parsed.probes === 'object' && Array.isArray(parsed.recoveries)
      ? parsed
      : emptyHealthState(target);
  } catch {
    return emptyHealthState(target);
  }
}

/**
 * Reads the target's state and folds the round into it, writing the new state only if no other
 * run wrote in between (else reads again and folds again), so overlapping runs never lose a
 * transition and each transition is alerted by exactly one run. A run already folded in (the same
 * `runId` delivered again) is not folded twice: its recorded decision is returned (`replayed`).
 *
 * @example
 * const { fold, conflicts } = await recordRound(store, 'demo', 'health-demo-1', (previous) => foldRound(previous, results, options));
 */
export async function recordRound(
  store: HealthStateStore,
  target: string,
  runId: string,
  fold: (previous: TargetHealthState) => FoldResult,
): Promise<{ fold: FoldResult; conflicts: number; replayed: boolean }> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt += 1) {
    const record = await store.read(target);
    const previous = { ...parseState(target, record?.body), version: record?.version ?? 0 };
    const recorded = previous.runs?.find((r) => r.runId === runId);
    if (recorded) {
      const replay: FoldResult = {
        state: previous,
        events: recorded.events,
        ...(recorded.recovery ? { recovery: recorded.recovery } : {}),
        ...(recorded.recoveries
          ? { recoveries: recorded.recoveries }
          : recorded.recovery
            ? { recoveries: [recorded.recovery] }
            : {}),
        ...(recorded.publishStatus ? { publishStatus: true } : {}),
      };
      return { fold: replay, conflicts: attempt, replayed: true };
    }
    const folded = fold(previous);
    const run: RecordedRun = {
      runId,
      events: folded.events,
      ...(folded.recovery ? { recovery: folded.recovery } : {}),
      ...(folded.recoveries ? { recoveries: folded.recoveries } : {}),
      ...(folded.publishStatus ? { publishStatus: true } : {}),
    };
    const state: TargetHealthState = {
      ...folded.state,
      version: previous.version + 1,
      runs: [...(folded.state.runs ?? []), run].slice(-RECORDED_RUNS),
    };
    if (await store.write(target, JSON.stringify(state), previous.version)) {
      return { fold: { ...folded, state }, conflicts: attempt, replayed: false };
    }
  }
  throw new Error(`the health state of ${target} kept changing under ${WRITE_ATTEMPTS} overlapping writes`);
}

/**
 * The record half of check-target: folds the round into the stored state (down after `failureThreshold` failures,
 * up after `successThreshold` successes), alerts on transitions only (not during a maintenance),
 * and starts the `onFailure` runbook within its cooldown and daily cap.
 *
 * @example
 * await recordHealthStep(round, deps) // { down: 1, events: [{ kind: 'down', probe: 'site', alerted: true }], recovery: { started: true, … } }
 */
export async function recordHealthStep(
  input: ProbeRound,
  deps: HealthDeps,
  /** Seconds between publishes of an unchanged status page; absent: the workflow publishes none. */
  statusPageEverySeconds?: number,
): Promise<HealthRunSummary> {
  const target = deps.findTarget(input.target);
  const health = healthOf(target);
  const now = new Date(deps.now());
  const maintenance = await maintenanceNow(target, deps, now);
  const conditions = Object.fromEntries(health.probes.map((p) => [p.name, describeProbe(p)]));
  const publicProbes = publicProbeNames(target);
  const decide = (previous: TargetHealthState, folded: FoldResult): FoldResult =>
    statusPageEverySeconds === undefined
      ? folded
      : withStatusPublish(previous, folded, { publicProbes, now, everyMs: statusPageEverySeconds * 1000 });
  const { fold, conflicts } = await recordRound(deps.store(target), target.name, input.runId, (previous) =>
    decide(
      previous,
      foldRound(previous, input.results, {
        now,
        failureThreshold: health.failureThreshold,
        successThreshold: health.successThreshold,
        conditions,
        ...(maintenance ? { maintenance } : {}),
        routes: recoveryRoutes(health),
        flapping: health.flapping,
        maintenanceAlertAfterMinutes: health.maintenanceAlertAfterMinutes,
        ...(input.fleetHost ? { fleetHost: input.fleetHost } : {}),
      }),
    ),
  );
  if (fold.finishedDay && deps.history) {
    await deps.history(target).writeDay(target.name, fold.finishedDay.day, JSON.stringify(fold.finishedDay));
  }
  const recoveries: RecoveryNote[] = [];
  for (const decision of fold.recoveries ?? (fold.recovery ? [fold.recovery] : [])) {
    if (!decision.start) {
      recoveries.push({ runbook: decision.runbook, started: false, why: decision.why });
      continue;
    }
    try {
      const { executionId } = await deps.recoveries(target).start({
        target: target.name,
        runbook: decision.runbook,
        reason: decision.reason,
        runId: input.runId,
        requestedBy: 'stepops health',
        ...(decision.instance ? { instance: decision.instance } : {}),
      });
      recoveries.push({ runbook: decision.runbook, started: true, executionId });
    } catch (error) {
      recoveries.push({
        runbook: decision.runbook,
        started: false,
        why: `could not start: ${rejectionReason(error)}`,
      });
    }
  }
  const routes = recoveryRoutes(health);
  const alerted = fold.events.filter((e) => e.alert);
  // A recovery started again while its probe stays down (after its cooldown) is alerted too.
  for (const note of recoveries) {
    if (!note.started || alerted.some((e) => e.kind !== 'up' && routes.byProbe[e.probe] === note.runbook))
      continue;
    const down = Object.values(fold.state.probes).find(
      (p) => p.status === 'down' && routes.byProbe[p.probe] === note.runbook,
    );
    if (down) {
      alerted.push({
        kind: 'still-down',
        probe: down.probe,
        ...(down.host ? { host: down.host } : {}),
        detail: down.lastDetail,
        condition: conditions[down.probe] ?? down.probe,
        since: down.since,
        consecutiveFailures: down.consecutiveFailures,
        alert: true,
        maintenance: 'the recovery cooldown',
      });
    }
  }
  if (alerted.length > 0) {
    // One message for the round, whatever changed on however many hosts.
    const notes = recoveries.filter((note) =>
      alerted.some((e) => e.kind !== 'up' && routes.byProbe[e.probe] === note.runbook),
    );
    const notification = roundNotification(target.name, alerted, input.runId, now, notes);
    const notifier = deps.notifier(target);
    if (deps.alertWindowMs) {
      await publishGrouped(notification, {
        store: deps.store(target),
        notifier,
        runId: input.runId,
        destination: JSON.stringify(target.alerts),
        windowMs: deps.alertWindowMs,
        now: () => deps.now(),
        sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      });
    } else {
      await notifier.publish(notification);
    }
  }
  const recovery = recoveries[0];
  const states = Object.values(fold.state.probes);
  return {
    target: target.name,
    runId: input.runId,
    up: states.filter((s) => s.status === 'up' && s.lastOk).length,
    failing: states.filter((s) => s.status === 'up' && !s.lastOk).length,
    down: states.filter((s) => s.status === 'down').length,
    events: fold.events.map((e) => ({
      kind: e.kind,
      probe: e.probe,
      ...(e.host ? { host: e.host } : {}),
      detail: e.detail.slice(0, HEALTH_DETAIL_LIMIT),
      alerted: e.alert,
    })),
    ...(maintenance ? { maintenance: maintenance.reason } : {}),
    ...(recovery ? { recovery, recoveries } : {}),
    ...(input.fleetHost ? { fleetHost: input.fleetHost } : {}),
    conflicts,
    ...(statusPageEverySeconds !== undefined ? { publishStatus: fold.publishStatus === true } : {}),
  };
}

/**
 * notify-health-failure: a health run that could not check (its check step failed or timed out) is
 * alerted with the state that failed and the error.
 *
 * @example
 * await notifyHealthFailureStep({ target: 'demo', runId: 'r', failedState: 'CheckTarget', error: { Error: 'States.Timeout' } }, deps)
 */
export async function notifyHealthFailureStep(
  input: NotifyHealthFailureInput,
  deps: HealthDeps,
): Promise<{ notified: true }> {
  let notifier: Notifier;
  try {
    notifier = deps.notifier(deps.findTarget(input.target));
  } catch {
    notifier = deps.fallbackNotifier();
  }
  const cause = input.error.Cause ?? '';
  await notifier.publish({
    target: input.target,
    workflow: 'health',
    outcome: 'failed',
    runId: input.runId,
    summary: `health check of ${input.target} could not run: ${input.failedState} failed with ${input.error.Error}`,
    failedState: input.failedState,
    error: input.error.Error,
    ...(cause ? { cause: cause.slice(0, 2_000) } : {}),
    at: new Date(deps.now()).toISOString(),
  });
  return { notified: true };
}
