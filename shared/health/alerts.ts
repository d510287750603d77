/**
 * The alerts of health transitions: one when a probe goes down (what failed, the condition, the
 * observed value, since when), one when it recovers (how long it was down), one when a down state
 * outlived a maintenance. Each says what happened to the recovery runbook, if one is declared.
 */
import type { Notification } from '../drivers/ports.ts';
import { formatDuration, type HealthEvent } from './state.ts';

/** What the alert says of the recovery runbook. */
export interface RecoveryNote {
  runbook: string;
  started: boolean;
  executionId?: string;
  why?: string;
}

/** Whether an event tells of a failure (a recovery note belongs to it). */
function isFailure(event: HealthEvent): boolean {
  return event.kind === 'down' || event.kind === 'still-down' || event.kind === 'down-in-maintenance';
}

function where(event: HealthEvent): string {
  return `${event.probe}${event.host ? ` on ${event.host}` : ''}`;
}

/**
 * The one-line summary of a health event.
 *
 * @example
 * healthSummary({ kind: 'up', probe: 'site', downForMs: 252_000, … }) // 'site is up again after 4 min 12 s down: 200 in 12 ms'
 */
export function healthSummary(target: string, event: HealthEvent, recovery?: RecoveryNote): string {
  let text: string;
  switch (event.kind) {
    case 'down':
      text = `${target}: ${where(event)} is down: ${event.detail} (condition: ${event.condition}; failing since ${event.since}, ${event.consecutiveFailures} checks in a row)`;
      break;
    case 'still-down':
      text = `${target}: ${where(event)} is still down after ${event.maintenance ?? 'the maintenance'} ended: ${event.detail} (condition: ${event.condition}; failing since ${event.since})`;
      break;
    case 'up':
      text = `${target}: ${where(event)} is up again after ${formatDuration(event.downForMs ?? 0)} down: ${event.detail}`;
      break;
    case 'down-in-maintenance':
      text = `${target}: ${where(event)} is down during ${event.maintenance ?? 'a maintenance'}, for longer than the maintenance bound: ${event.detail} (condition: ${event.condition}; failing since ${event.since})`;
      break;
    case 'flapping':
      text = `${target}: ${where(event)} is flapping: ${event.detail} (condition: ${event.condition}); its ups and downs are not alerted until it is stable`;
      break;
    case 'stable':
      text = `${target}: ${where(event)} stopped flapping: ${event.detail}`;
      break;
  }
  if (recovery && isFailure(event)) {
    text += recovery.started
      ? `; started recovery runbook ${recovery.runbook}${recovery.executionId ? ` (${recovery.executionId})` : ''}`
      : `; recovery runbook ${recovery.runbook} not started: ${recovery.why ?? 'no reason given'}`;
  }
  return text;
}

/**
 * The notification of a health event.
 *
 * @example
 * await notifier.publish(healthNotification('demo', event, 'health-demo-1', new Date()));
 */
export function healthNotification(
  target: string,
  event: HealthEvent,
  runId: string,
  now: Date,
  recovery?: RecoveryNote,
): Notification {
  return {
    target,
    workflow: 'health',
    outcome: isFailure(event) || event.kind === 'flapping' ? 'failed' : 'succeeded',
    runId,
    summary: healthSummary(target, event, recovery),
    failedState: event.probe,
    error: event.kind === 'up' ? `${event.probe} recovered` : `${event.probe} ${event.kind}`,
    cause: `condition: ${event.condition}; observed: ${event.detail}; since ${event.since}`,
    ...(event.host ? { host: event.host } : {}),
    at: now.toISOString(),
  };
}

/** Events of one round alerted as one message: the same change of one probe on several hosts is one line. */
function eventLines(target: string, events: readonly HealthEvent[]): string[] {
  const groups = new Map<string, HealthEvent[]>();
  for (const event of events) {
    const key = `${event.kind}\u0000${event.probe}`;
    groups.set(key, [...(groups.get(key) ?? []), event]);
  }
  return [...groups.values()].map((group) => {
    const hosts = group.map((e) => e.host).filter((h): h is string => h !== undefined);
    const first = group[0]!;
    const merged: HealthEvent = hosts.length > 1 ? { ...first, host: hosts.join(', ') } : first;
    return healthSummary(target, merged).replace(`${target}: `, '');
  });
}

/** The recovery notes in words. */
function recoveryLines(recoveries: readonly RecoveryNote[]): string[] {
  return recoveries.map((r) =>
    r.started
      ? `started recovery runbook ${r.runbook}${r.executionId ? ` (${r.executionId})` : ''}`
      : `recovery runbook ${r.runbook} not started: ${r.why ?? 'no reason given'}`,
  );
}

/**
 * The one notification of a round's alerted events (one per target per round, however many probes
 * and hosts changed): one event keeps the single-event form; several are listed, the same change
 * of a probe on several hosts in one line naming the hosts.
 *
 * @example
 * await notifier.publish(roundNotification('shop', events, 'health-shop-1', new Date(), notes));
 */
export function roundNotification(
  target: string,
  events: readonly HealthEvent[],
  runId: string,
  now: Date,
  recoveries: readonly RecoveryNote[] = [],
): Notification {
  const lines = eventLines(target, events);
  const first = events[0]!;
  if (lines.length === 1) {
    const hosts = events.map((e) => e.host).filter((h): h is string => h !== undefined);
    const merged: HealthEvent = hosts.length > 1 ? { ...first, host: hosts.join(', ') } : first;
    const single = healthNotification(target, merged, runId, now, recoveries[0]);
    const more = recoveryLines(recoveries.slice(1));
    return more.length > 0 ? { ...single, summary: `${single.summary}; ${more.join('; ')}` } : single;
  }
  const failing = events.filter((e) => e.kind !== 'up' && e.kind !== 'stable');
  return {
    target,
    workflow: 'health',
    outcome: failing.length > 0 ? 'failed' : 'succeeded',
    runId,
    summary: `${target}: ${lines.length} health changes: ${[...lines, ...recoveryLines(recoveries)].join('; ')}`,
    failedState: [...new Set(events.map((e) => e.probe))].join(', '),
    error: failing.length > 0 ? `${failing.length} probe change(s) down` : 'probes recovered',
    cause: events
      .map((e) => `${e.probe}${e.host ? `@${e.host}` : ''}: ${e.kind}; observed: ${e.detail}`)
      .join('\n')
      .slice(0, 2_000),
    at: now.toISOString(),
  };
}

/** One target's alert of a round, as the cross-target grouping lists it. */
export interface PendingAlert {
  target: string;
  summary: string;
  outcome: Notification['outcome'];
}

/**
 * The one notification of the alerts of many targets held together (a storm: 50 targets down
 * together): a count, then one line per target.
 *
 * @example
 * stormNotification(pending, 'health-batch-1', new Date()).summary // '50 targets changed health: …'
 */
export function stormNotification(pending: readonly PendingAlert[], runId: string, now: Date): Notification {
  const targets = [...new Set(pending.map((p) => p.target))];
  const failed = pending.filter((p) => p.outcome === 'failed');
  const body = pending.map((p) => `- ${p.summary}`).join('\n');
  return {
    target: targets.length === 1 ? targets[0]! : `${targets.length} targets`,
    workflow: 'health',
    outcome: failed.length > 0 ? 'failed' : 'succeeded',
    runId,
    summary:
      `${targets.length} targets changed health (${failed.length} failing): ${targets.join(', ')}`.slice(
        0,
        1_000,
      ),
    error: `${failed.length} target(s) failing`,
    cause: body.slice(0, 8_000),
    at: now.toISOString(),
  };
}
