/**
 * A target's probe transitions (down, back up) from what stepops records of them: the health
 * alerts (the local outbox), the recoveries the health state still remembers, and the probes down
 * now. Pure: shared by the console, the delivery report and the status page publisher.
 */
import type { Notification } from '../drivers/ports.ts';
import type { ProbeTransition } from '../report/dora.ts';

/** What the health state says of a target, as far as transitions go. */
export interface HealthStateView {
  probes?: Record<
    string,
    { probe: string; host?: string; status: 'up' | 'down'; since: string; lastAt: string }
  >;
  runs?: { events?: { kind: string; probe: string; host?: string; since: string; downForMs?: number }[] }[];
}

/**
 * A target's probe transitions: the down and recovered alerts (the outbox), the recoveries the
 * health state still remembers (an `up` event says since when it was down and for how long), and
 * the probes down now.
 *
 * @example
 * probeTransitions('demo', await outboxHealthAlerts(), state)
 */
export function probeTransitions(
  target: string,
  alerts: readonly Notification[],
  state: HealthStateView | undefined,
): ProbeTransition[] {
  const transitions: ProbeTransition[] = [];
  for (const a of alerts) {
    if (a.target !== target || !a.failedState) continue;
    const kind = a.error?.endsWith(' recovered') ? 'up' : a.error?.endsWith(' down') ? 'down' : undefined;
    if (!kind) continue;
    transitions.push({ probe: a.failedState, ...(a.host ? { host: a.host } : {}), kind, at: a.at });
  }
  for (const recorded of state?.runs ?? []) {
    for (const e of recorded.events ?? []) {
      if (e.kind !== 'up' || e.downForMs === undefined) continue;
      const host = e.host ? { host: e.host } : {};
      transitions.push({ probe: e.probe, ...host, kind: 'down', at: e.since });
      transitions.push({
        probe: e.probe,
        ...host,
        kind: 'up',
        at: new Date(Date.parse(e.since) + e.downForMs).toISOString(),
      });
    }
  }
  for (const p of Object.values(state?.probes ?? {})) {
    if (p.status === 'down') {
      transitions.push({ probe: p.probe, ...(p.host ? { host: p.host } : {}), kind: 'down', at: p.since });
    }
  }
  return transitions;
}
