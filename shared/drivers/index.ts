/**
 * The drivers of a target: which adapter serves each port follows from what the target declares,
 * not from a global mode flag: `ec2` hosts → SSM, EC2 and RDS in the hosts' region; `local` hosts → bash, the
 * local directory and files. The state store and the notifier follow the resources that exist:
 * DynamoDB and SNS when a table and a topic are named, else the file lease store and the outbox.
 * A Slack notifier joins the fan-out when the target names a webhook parameter and no topic
 * (whose forwarder posts to Slack) is in use. The probe runner is the health domain's
 * (`shared/health/probe-runner.ts`), and `driversFor`, which builds every adapter of a target
 * with it, is in `shared/all-drivers.ts`: no driver imports a domain module.
 */
import type {
  CommandRunner,
  HostDirectory,
  LeaseStore,
  LoadBalancer,
  Notifier,
  ProbeRunner,
  SnapshotService,
} from './ports.ts';

export { commandRunnerFor } from './commands.ts';
export { hostDirectoryFor } from './hosts.ts';
export { leaseStoreFor } from './leases.ts';
export { loadBalancerFor } from './load-balancers.ts';
export { fallbackNotifierFor, notifierFor } from './notifier.ts';
export type { AwsResourceNames, DriversOptions } from './options.ts';
export { alertsTopicArn, awsResourceNames, hostSelector } from './options.ts';
export type * from './ports.ts';
export { OUTPUT_TAIL_LIMIT } from './ports.ts';
export { runLivenessFor } from './run-liveness.ts';
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
