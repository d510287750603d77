/**
 * Every adapter of a target at once: the composition of the per-capability factories of
 * `shared/drivers/` with the probe runner that the health domain chooses. It exports what
 * `shared/drivers/index.ts` does, plus `probeRunnerFor` and `driversFor`.
 */
import type { Target } from './config/schema.ts';
import {
  commandRunnerFor,
  type Drivers,
  type DriversOptions,
  hostDirectoryFor,
  leaseStoreFor,
  loadBalancerFor,
  notifierFor,
  snapshotServiceFor,
} from './drivers/index.ts';
import { probeRunnerFor } from './health/probe-runner.ts';

export * from './drivers/index.ts';
export { HOST_PROBE_DELIVERY_SECONDS, probeRunnerFor } from './health/probe-runner.ts';

/**
 * Chooses the adapters for a target: every capability, from the per-capability factories
 * in `shared/drivers/` and the health domain's
 * probe runner (it lives outside `shared/drivers/`, which imports no domain module). For the CLI and
 * tests; a Lambda imports only the factories of the capabilities its step uses.
 *
 * @example
 * const drivers = driversFor(await loadTarget('demo'));
 * const hosts = await drivers.hosts.resolve(hostSelector(target));
 * const handle = await drivers.commands.send({ hosts, script: plan.deployScript, timeoutSeconds: plan.deployTimeoutSeconds, comment: 'deploy demo v2' });
 */
export function driversFor(target: Target, options: DriversOptions = {}): Drivers {
  const commands = commandRunnerFor(target, options);
  return {
    commands,
    hosts: hostDirectoryFor(target, options),
    snapshots: snapshotServiceFor(target, options),
    notifier: notifierFor(target, options),
    leases: leaseStoreFor(target, options),
    probes: probeRunnerFor(target, options, commands),
    loadBalancer: loadBalancerFor(target, options),
  };
}
