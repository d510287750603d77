/**
 * Fleet-wide probes: a host-side probe marked `scope: 'fleet'` (a queue latency, a database check)
 * runs once per round on one healthy host, and is kept and alerted once per target.
 */
import type { Probe } from '../config/schema.ts';
import type { HostRef } from '../drivers/ports.ts';
import { isHostSideProbe } from './host-probes.ts';
import type { TargetHealthState } from './state.ts';

/**
 * Whether a probe runs once per round on one host rather than on each.
 *
 * @example
 * isFleetProbe({ name: 'queue', type: 'command', scope: 'fleet', … }) // true
 */
export function isFleetProbe(probe: Probe): boolean {
  return probe.scope === 'fleet' && isHostSideProbe(probe);
}

/**
 * The host a round's fleet-wide probes run on: among the hosts that can take commands now, the
 * one with the fewest per-host probes down or failing in the last state (a host that is itself
 * failing would make a fleet-wide check fail for the wrong reason), ties broken by the host the
 * fleet probes ran on last (kept while it stays healthy), then by id.
 *
 * @example
 * chooseFleetHost([{ kind: 'local', id: 'a' }, { kind: 'local', id: 'b' }], state) // b, when a's app probe is down
 */
export function chooseFleetHost(hosts: readonly HostRef[], state: TargetHealthState): HostRef | undefined {
  const trouble = new Map<string, number>();
  for (const probe of Object.values(state.probes)) {
    if (!probe.host) continue;
    const bad = probe.status === 'down' ? 2 : probe.lastOk ? 0 : 1;
    trouble.set(probe.host, (trouble.get(probe.host) ?? 0) + bad);
  }
  const last = state.fleetHost;
  return [...hosts].sort(
    (a, b) =>
      (trouble.get(a.id) ?? 0) - (trouble.get(b.id) ?? 0) ||
      Number(b.id === last) - Number(a.id === last) ||
      a.id.localeCompare(b.id),
  )[0];
}
