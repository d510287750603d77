/**
 * The drivers of a target: which adapter serves each port follows from what the target declares,
 * not from a global mode flag: `ec2` hosts → SSM, EC2 and RDS in the hosts' region; `local` hosts → bash, the
 * local directory and files. The state store and the notifier follow the resources that exist:
 * DynamoDB and SNS when a table and a topic are named, else the file lease store and the outbox.
 * A Slack notifier joins the fan-out when the target names a webhook parameter and no topic
 * (whose forwarder posts to Slack) is in use.
 */
import type { Target } from '../config/schema.ts';
import { commandRunnerFor } from './commands.ts';
import { hostDirectoryFor } from './hosts.ts';
import { leaseStoreFor } from './leases.ts';
import { loadBalancerFor } from './load-balancers.ts';
import { notifierFor } from './notifier.ts';
import type { DriversOptions } from './options.ts';
import type {
  CommandRunner,
  HostDirectory,
  LeaseStore,
  LoadBalancer,
  Notifier,
  ProbeRunner,
  SnapshotService,
} from './ports.ts';
import { probeRunnerFor } from './probes.ts';
import { snapshotServiceFor } from './snapshots.ts';

export { commandRunnerFor } from './commands.ts';
export { hostDirectoryFor } from './hosts.ts';
export { leaseStoreFor } from './leases.ts';
export { loadBalancerFor } from './load-balancers.ts';
export { fallbackNotifierFor, notifierFor } from './notifier.ts';
export type { AwsResourceNames, DriversOptions } from './options.ts';
export { alertsTopicArn, awsResourceNames, hostSelector } from './options.ts';
export type * from './ports.ts';
export { OUTPUT_TAIL_LIMIT } from './ports.ts';
export { probeRunnerFor } from './probes.ts';
export { snapshotServiceFor } from './snapshots.ts';

/** Everything a handler needs to act on a target. */
export interface Drivers {
  commands: CommandRunner;
  hosts: HostDirectory;
  snapshots: SnapshotService;
  notifier: Notifier;
  leases: LeaseStore;
  probes: ProbeRunner;
  loadBalancer: LoadBalancer;
}

/**
 * Chooses the adapters for a target: every capability, from the per-capability factories
 * (`commands.ts`, `hosts.ts`, `snapshots.ts`, `leases.ts`, `notifier.ts`, `probes.ts`). For the CLI
 * and tests; a Lambda imports only the factories of the capabilities its step uses.
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
