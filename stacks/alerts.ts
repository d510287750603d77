/**
 * Alerts: the SNS topic every notify step publishes to, and the forwarder subscribed to it that
 * posts each alert to Slack (naming, in the alert of a run that ended early, the hosts it left out
 * of the load balancer). A failed post is retried by Lambda (twice) and then kept in a
 * dead-letter queue; the alert itself stays on the topic for its other subscribers either way.
 */
import { ALERTED_STATUSES, EXECUTION_STATUS_CHANGE } from '../shared/alerts/execution-event.ts';
import { stageResourceNames } from '../shared/drivers/options.ts';
import { type FunctionBundling, functionCode } from './bundling.ts';
import { parameterStatements, type Statement } from './permissions.ts';
import type { StageSettings } from './settings.ts';

/** Where the alerts stack needs to know the account and region. */
export interface AlertsContext {
  settings: StageSettings;
  /** How each function is built: its handler's folder and the targets plugin. */
  bundling: FunctionBundling;
  account: $util.Input<string>;
  region: $util.Input<string>;
}

/** The Slack webhook parameters the forwarder may read: the stage's and each target's own. */
export function slackWebhookParameters(settings: StageSettings): string[] {
  const names = [settings.parameters.slackWebhookUrl];
  for (const target of settings.targets) {
    if (target.alerts.slackWebhookParameter) names.push(target.alerts.slackWebhookParameter);
  }
  return [...new Set(names)].sort();
}

/**
 * What the forwarder reads to name, in the alert of a run that ended where no step could act, the
 * hosts it left out of the load balancer (`shared/alerts/hosts-out.ts`): the target's running
 * instances (`ec2:DescribeInstances`, and `ssm:DescribeInstanceInformation` for those whose agent
 * is offline) and their state in its target groups (`elasticloadbalancing:DescribeTargetHealth`).
 * None of the three has resource-level permissions; none changes anything. Nothing when no target
 * of the stage declares a target group.
 *
 * @example
 * hostsOutStatements(settings) // [{ actions: ['ec2:DescribeInstances', …], resources: ['*'] }]
 */
export function hostsOutStatements(settings: StageSettings): Statement[] {
  const drains = settings.targets.some((t) => (t.deploy?.loadBalancer?.targetGroups.length ?? 0) > 0);
  if (!drains) return [];
  return [
    {
      actions: [
        'ec2:DescribeInstances',
        'ssm:DescribeInstanceInformation',
        'elasticloadbalancing:DescribeTargetHealth',
      ],
      resources: ['*'],
    },
  ];
}

/**
 * Creates the alerts topic and its Slack forwarder.
 *
 * @example
 * const { topic } = createAlerts({ settings, account, region });
 */
export function createAlerts(context: AlertsContext) {
  // Named `stepops-<stage>-alerts`: the CLI finds it by the stage name.
  const topic = new sst.aws.SnsTopic('Alerts', {
    transform: {
      topic: (args: aws.sns.TopicArgs) => {
        args.name = stageResourceNames($app.stage).alertsTopic;
      },
    },
  });
  const link = new sst.Linkable('AlertsTopic', { properties: { arn: topic.arn } });
  const slackWebhook = new sst.Linkable('SlackWebhook', {
    properties: { parameter: context.settings.parameters.slackWebhookUrl },
  });
  const deadLetters = new sst.aws.Queue('AlertsDeadLetter', {
    transform: {
      queue: (args: aws.sqs.QueueArgs) => {
        args.messageRetentionSeconds = 14 * 24 * 3600;
      },
    },
  });

  const subscriber = topic.subscribe('SlackForwarder', {
    ...functionCode(context.bundling, 'forward-alert'),
    runtime: 'nodejs24.x',
    architecture: 'arm64',
    memory: '256 MB',
    // postToSlack: 3 attempts of at most 10 s each, plus backoff.
    timeout: '60 seconds',
    link: [slackWebhook],
    permissions: [
      ...parameterStatements(context.account, context.region, slackWebhookParameters(context.settings)),
      { actions: ['sqs:SendMessage'], resources: [deadLetters.arn] },
      ...hostsOutStatements(context.settings),
    ],
  });

  const forwarder = subscriber.nodes.function;
  const invokeConfig = new aws.lambda.FunctionEventInvokeConfig('SlackForwarderRetries', {
    functionName: forwarder.apply((fn: aws.lambda.Function) => fn.name),
    maximumRetryAttempts: 2,
    maximumEventAgeInSeconds: 6 * 3600,
    destinationConfig: { onFailure: { destination: deadLetters.arn } },
  });
  return { topic, link, subscriber, forwarder, deadLetters, invokeConfig };
}

/** Where the run failure rule needs to look. */
export interface RunFailureAlertsContext {
  /** The alerts topic (its ARN). */
  topicArn: $util.Input<string>;
  /**
   * The Standard workflows' state machines. Express workflows (health) send no execution events to
   * EventBridge, so they have nothing to match.
   */
  stateMachineArns: $util.Input<string>[];
}

/**
 * The EventBridge rule that alerts on runs ending where no Catch can see it (the history limit,
 * `States.DataLimitExceeded`, the run's TimeoutSeconds, an abort): Step Functions "Execution Status
 * Change" events with status FAILED, TIMED_OUT or ABORTED, of the stage's state machines, sent as
 * they are to the alerts topic, whose forwarder turns them into readable alerts (and skips the
 * failures the runs alerted themselves). The topic's policy lets this rule, and only it, publish.
 *
 * @example
 * createRunFailureAlerts({ topicArn: alerts.topic.arn, stateMachineArns: [deploy.stateMachine.arn] });
 */
export function createRunFailureAlerts(context: RunFailureAlertsContext) {
  const rule = new aws.cloudwatch.EventRule('RunFailureRule', {
    description: 'stepops: runs that ended FAILED, TIMED_OUT or ABORTED, to the alerts topic',
    eventPattern: $jsonStringify({
      source: ['aws.states'],
      'detail-type': [EXECUTION_STATUS_CHANGE],
      detail: { status: [...ALERTED_STATUSES], stateMachineArn: context.stateMachineArns },
    }),
  });
  const topicPolicy = new aws.sns.TopicPolicy('AlertsTopicPolicy', {
    arn: context.topicArn,
    policy: $jsonStringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'RunFailureEvents',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: context.topicArn,
          Condition: { ArnEquals: { 'aws:SourceArn': rule.arn } },
        },
      ],
    }),
  });
  const target = new aws.cloudwatch.EventTarget(
    'RunFailureTarget',
    { rule: rule.name, arn: context.topicArn },
    { dependsOn: [topicPolicy] },
  );
  return { rule, topicPolicy, target };
}
