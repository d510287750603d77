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
  }
  if (recovery && event.kind !== 'up') {
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
    outcome: event.kind === 'up' ? 'succeeded' : 'failed',
    runId,
    summary: healthSummary(target, event, recovery),
    failedState: event.probe,
    error: event.kind === 'up' ? `${event.probe} recovered` : `${event.probe} down`,
    cause: `condition: ${event.condition}; observed: ${event.detail}; since ${event.since}`,
    ...(event.host ? { host: event.host } : {}),
    at: now.toISOString(),
  };
}
