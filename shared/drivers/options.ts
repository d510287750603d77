/**
 * What the driver factories share: the stack's resource names, the options of a factory and the
 * target-derived values (host selector, alerts topic). No adapter is imported here, so a factory
 * module that imports this one bundles only its own adapters.
 */
import type { Target } from '../config/schema.ts';
import type { HostSelector } from './ports.ts';

/** Names of the stack's resources the drivers use; any may be absent (local runs). */
export interface AwsResourceNames {
  /** DynamoDB state table (leases). */
  stateTable?: string;
  /** SNS topic ARN for alerts. */
  alertsTopicArn?: string;
  /** CloudWatch Logs group for command output. */
  commandLogGroup?: string;
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
 * The names a stage gives its state table and alerts topic (the stacks set them, so that the CLI
 * finds a stage's lease and topic from the stage name alone).
 *
 * @example
 * stageResourceNames('prod') // { stateTable: 'stepops-prod-state', alertsTopic: 'stepops-prod-alerts' }
 */
export function stageResourceNames(stage: string): { stateTable: string; alertsTopic: string } {
  return { stateTable: `stepops-${stage}-state`, alertsTopic: `stepops-${stage}-alerts` };
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

/**
 * The resource names a factory uses: those of the environment, overridden by the options' own.
 *
 * @example
 * resolvedNames({ stateTable: 'stepops-state' }) // { stateTable: 'stepops-state', …the environment's }
 */
export function resolvedNames(options: DriversOptions = {}): AwsResourceNames {
  const names: AwsResourceNames = awsResourceNames();
  if (options.stateTable) names.stateTable = options.stateTable;
  if (options.alertsTopicArn) names.alertsTopicArn = options.alertsTopicArn;
  if (options.commandLogGroup) names.commandLogGroup = options.commandLogGroup;
  return names;
}

/** How long SSM keeps a command for an unreachable instance (SendCommand's `TimeoutSeconds`). */
export interface SsmDelivery {
  deliveryTimeoutSeconds?: number;
}

/**
 * The options of the SSM command runner of a target's commands: the stack's command log group when
 * one is named, and the delivery timeout asked for.
 *
 * @example
 * ssmRunnerOptions({ commandLogGroup: '/stepops/commands' }, { deliveryTimeoutSeconds: 30 })
 * // { logGroupName: '/stepops/commands', deliveryTimeoutSeconds: 30 }
 */
export function ssmRunnerOptions(
  options: DriversOptions,
  ssm: SsmDelivery,
): SsmDelivery & { logGroupName?: string } {
  const { commandLogGroup } = resolvedNames(options);
  return { ...(commandLogGroup ? { logGroupName: commandLogGroup } : {}), ...ssm };
}

/**
 * The region of a target's EC2 hosts (undefined for local hosts).
 *
 * @example
 * hostsRegion(target) // 'eu-west-1'
 */
export function hostsRegion(target: Target): string | undefined {
  return target.hosts.type === 'ec2' ? target.hosts.region : undefined;
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
