/**
 * The drivers of a target: which adapter serves each port follows from what the target declares
 * (DESIGN rule 5): `ec2` hosts → SSM, EC2 and RDS in the hosts' region; `local` hosts → bash, the
 * local directory and files. The state store and the notifier follow the resources that exist:
 * DynamoDB and SNS when a table and a topic are named, else the file lease store and the outbox.
 * A Slack notifier joins the fan-out when the target names a webhook parameter and no topic
 * (whose forwarder posts to Slack) is in use.
 */
import type { Target } from '../config/schema.ts';
import { StandardProbeRunner } from '../health/probe.ts';
import { defaultRegion, dynamoClient, regionOfArn } from './aws/clients.ts';
import { DynamoLeaseStore } from './aws/dynamo-lease-store.ts';
import { Ec2HostDirectory } from './aws/ec2-host-directory.ts';
import { SlackNotifier } from './aws/slack-notifier.ts';
import { AwsSnapshotService } from './aws/snapshot-service.ts';
import { SnsNotifier } from './aws/sns-notifier.ts';
import { SsmCommandRunner } from './aws/ssm-command-runner.ts';
import { FanOutNotifier } from './fan-out-notifier.ts';
import { BashCommandRunner } from './local/bash-command-runner.ts';
import { FileLeaseStore } from './local/file-lease-store.ts';
import { LocalHostDirectory } from './local/local-host-directory.ts';
import { LocalSnapshotService } from './local/local-snapshot-service.ts';
import { OutboxNotifier } from './local/outbox-notifier.ts';
import type {
  CommandRunner,
  HostDirectory,
  HostSelector,
  LeaseStore,
  Notifier,
  ProbeRunner,
  SnapshotService,
} from './ports.ts';

export type * from './ports.ts';
export { OUTPUT_TAIL_LIMIT } from './ports.ts';

/** Everything a handler needs to act on a target. */
export interface Drivers {
  commands: CommandRunner;
  hosts: HostDirectory;
  snapshots: SnapshotService;
  notifier: Notifier;
  leases: LeaseStore;
  probes: ProbeRunner;
}

/** Names of the stack's resources the drivers use; any may be absent (local runs). */
export interface AwsResourceNames {
  /** DynamoDB state table (leases). */
  stateTable?: string;
  /** SNS topic ARN for alerts. */
  alertsTopicArn?: string;
  /** CloudWatch Logs group for command output. */
  commandLogGroup?: string;
}

/**
 * The stack's resource names, from `STEPOPS_STATE_TABLE`, `STEPOPS_ALERTS_TOPIC_ARN` and
 * `STEPOPS_COMMAND_LOG_GROUP`. The one place to swap for SST `Resource` links.
 *
 * @example
 * const { stateTable } = awsResourceNames(); // undefined on a laptop
 */
export function awsResourceNames(env: NodeJS.ProcessEnv = process.env): AwsResourceNames {
  const names: AwsResourceNames = {};
  if (env.STEPOPS_STATE_TABLE) names.stateTable = env.STEPOPS_STATE_TABLE;
  if (env.STEPOPS_ALERTS_TOPIC_ARN) names.alertsTopicArn = env.STEPOPS_ALERTS_TOPIC_ARN;
  if (env.STEPOPS_COMMAND_LOG_GROUP) names.commandLogGroup = env.STEPOPS_COMMAND_LOG_GROUP;
  return names;
}

export interface DriversOptions extends AwsResourceNames {
  /** Where the outbox writes its human line (stderr by default; `null` for none). */
  stream?: Pick<NodeJS.WritableStream, 'write'> | null;
  /**
   * Posts to Slack directly when the target names a webhook parameter. By default only when there is
   * no SNS topic: with a topic, the forwarder subscribed to it posts to Slack.
   */
  slack?: boolean;
  /** Receives failures of secondary notifiers (Slack). */
  onNotifierError?: (error: unknown) => void;
}

/**
 * The host selector a target declares.
 *
 * @example
 * hostSelector(target) // { type: 'local', directory: 'lab/app' }
 */
export function hostSelector(target: Target): HostSelector {
  const hosts = target.hosts;
  if (hosts.type === 'local') return { type: 'local', directory: hosts.directory };
  if ('instanceIds' in hosts) return { type: 'ec2', region: hosts.region, instanceIds: hosts.instanceIds };
  return { type: 'ec2', region: hosts.region, tags: hosts.tags };
}

/**
 * The topic a target's alerts go to: its own `alerts.topic` (an ARN, or a name in the stack topic's
 * account and region), else the stack's topic.
 *
 * @example
 * alertsTopicArn(target, 'arn:aws:sns:eu-west-1:123456789012:stepops-alerts')
 */
export function alertsTopicArn(target: Target, stackTopicArn: string | undefined): string | undefined {
  const topic = target.alerts.topic;
  if (!topic) return stackTopicArn;
  if (topic.startsWith('arn:')) return topic;
  if (!stackTopicArn) return undefined;
  return `${stackTopicArn.split(':').slice(0, 5).join(':')}:${topic}`;
}

/**
 * Chooses the adapters for a target.
 *
 * @example
 * const drivers = driversFor(await loadTarget('demo'));
 * const hosts = await drivers.hosts.resolve(hostSelector(target));
 * const handle = await drivers.commands.send({ hosts, script: plan.deployScript, timeoutSeconds: plan.deployTimeoutSeconds, comment: 'deploy demo v2' });
 */
export function driversFor(target: Target, options: DriversOptions = {}): Drivers {
  const names = { ...awsResourceNames(), ...stripUndefined(options) };
  const hosts = target.hosts;
  const region = hosts.type === 'ec2' ? hosts.region : undefined;

  let commands: CommandRunner;
  let hostDirectory: HostDirectory;
  let snapshots: SnapshotService;
  if (hosts.type === 'ec2') {
    commands = new SsmCommandRunner(names.commandLogGroup ? { logGroupName: names.commandLogGroup } : {});
    hostDirectory = new Ec2HostDirectory();
    snapshots = new AwsSnapshotService();
  } else {
    commands = new BashCommandRunner();
    hostDirectory = new LocalHostDirectory();
    snapshots = new LocalSnapshotService(new AwsSnapshotService());
  }

  const leases: LeaseStore = names.stateTable
    ? new DynamoLeaseStore(names.stateTable, { client: dynamoClient(defaultRegion() ?? region) })
    : new FileLeaseStore();

  const topicArn = alertsTopicArn(target, names.alertsTopicArn);
  const primary: Notifier = topicArn
    ? new SnsNotifier(topicArn)
    : new OutboxNotifier(options.stream === undefined ? {} : { stream: options.stream });
  const secondaries: Notifier[] = [];
  const slackParameter = target.alerts.slackWebhookParameter;
  // With a topic, the SNS→Slack forwarder posts the alert; posting here too would post it twice.
  const directSlack = options.slack ?? !topicArn;
  if (slackParameter && directSlack) {
    const slackRegion = (topicArn && regionOfArn(topicArn)) || defaultRegion() || region;
    secondaries.push(new SlackNotifier(slackParameter, slackRegion ? { region: slackRegion } : {}));
  }
  const notifier =
    secondaries.length === 0
      ? primary
      : new FanOutNotifier(
          primary,
          secondaries,
          options.onNotifierError ? { onSecondaryError: options.onNotifierError } : {},
        );

  const probes = new StandardProbeRunner({
    commands,
    ...(hosts.type === 'ec2' ? { workingDirectory: hosts.workingDirectory, user: hosts.user } : {}),
  });

  return { commands, hosts: hostDirectory, snapshots, notifier, leases, probes };
}

function stripUndefined(options: DriversOptions): AwsResourceNames {
  const names: AwsResourceNames = {};
  if (options.stateTable) names.stateTable = options.stateTable;
  if (options.alertsTopicArn) names.alertsTopicArn = options.alertsTopicArn;
  if (options.commandLogGroup) names.commandLogGroup = options.commandLogGroup;
  return names;
}
