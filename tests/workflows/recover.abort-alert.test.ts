/**
 * A rolling runbook on two instances behind an Application Load Balancer, stopped mid-batch on the
 * local engine (EC2, SSM and ELBv2 mocked at the command level): the first instance is out of the
 * target group when the run ends. On AWS such a run ends ABORTED and no step of it can act; the
 * EventBridge rule sends the execution's status change to the alerts topic, and the forwarder's
 * alert (its real handler, Slack a real HTTPS server on 127.0.0.1) names the instance still out,
 * and only it, without registering it back. Every AWS call is checked against the IAM policy the
 * stacks give the function that made it.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GetParameterCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type SSMClientResolvedConfig,
} from '@aws-sdk/client-ssm';
import type { AwsStub } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** The environment before this file: restored after it, as the next file in this worker expects it. */
const saved = vi.hoisted(() => {
  const before = { ...process.env };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  // The linked resources forward-alert reads (stacks/alerts.ts) in a stage named `test`.
  process.env.SST_RESOURCE_App = JSON.stringify({ name: 'stepops', stage: 'test' });
  process.env.SST_RESOURCE_SlackWebhook = JSON.stringify({ parameter: '/stepops/test/slack-webhook-url' });
  return before;
});

import { registerTarget } from '../../shared/config/registry.ts';
import { Ec2HostDirectory } from '../../shared/drivers/aws/ec2-host-directory.ts';
import { Ec2InstanceOperations } from '../../shared/drivers/aws/ec2-instance-operations.ts';
import { ElbLoadBalancer } from '../../shared/drivers/aws/elb-load-balancer.ts';
import { createLambdaContext, withinInvocation } from '../../shared/engine/index.ts';
import { trustedLoopbackCertificate } from '../helpers/tls.ts';
import '../iam/record-calls.ts';
import { ACCOUNT, REGION } from '../infra/harness.ts';
import { type FakeAws, fakeAws } from './aws-fakes.ts';
import {
  createHostSimulator,
  type HostSimulator,
  recordingProbes,
  recoverEngine,
} from './recover.fixtures.ts';

const WEB1 = 'i-0a1b2c3d4e5f60011';
const WEB2 = 'i-0a1b2c3d4e5f60012';
const GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const TARGET = 'rc-abort';
const RUN = `${TARGET}-0123456789abcdef`;

let sim: HostSimulator;
let home: string;
let aws: FakeAws;
let slack: Server;
let webhook: string;
/** What the Slack stand-in received. */
const posted: { text: string }[] = [];

beforeAll(async () => {
  sim = await createHostSimulator();
  home = await mkdtemp(path.join(tmpdir(), 'stepops-rc-abort-'));
  process.env.STEPOPS_HOME = home;
  registerTarget({
    name: TARGET,
    description: 'two instances behind an ALB',
    hosts: {
      type: 'ec2',
      region: 'eu-west-1',
      tags: { App: 'abort' },
      user: 'root',
      workingDirectory: '/opt/app',
    },
    deploy: {
      steps: [{ name: 'build', script: 'true', timeout: 60 }],
      rollback: [{ name: 'back', script: 'true', timeout: 60 }],
      healthGate: { probes: ['app'], timeout: 30, interval: 5, successes: 1 },
      loadBalancer: { targetGroups: [GROUP], drainTimeout: 30, healthyTimeout: 30 },
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [{ name: 'app', type: 'command', script: 'true', timeout: 10 }],
    },
    recovery: {
      restart: {
        description: 'restart the app on every instance, one at a time',
        steps: [
          {
            type: 'script',
            name: 'restart',
            // A host with a `hang` file stays in its restart (the run is stopped meanwhile), then fails.
            script:
              'if [ -e hang ]; then touch started; while [ -e hang ]; do sleep 0.05; done; exit 1; fi\necho restarted',
            timeout: 60,
          },
        ],
      },
    },
  });
  slack = createServer(trustedLoopbackCertificate(), (request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      posted.push(JSON.parse(body) as { text: string });
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  webhook = `https://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T0/B0/abort`;
});

afterAll(async () => {
  aws?.restore();
  await new Promise<void>((resolve) => slack.close(() => resolve()));
  await sim.close();
  await rm(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

/** Resolves once `file` exists. */
async function exists(file: string): Promise<void> {
  const { access } = await import('node:fs/promises');
  for (;;) {
    try {
      await access(file);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** The Step Functions "Execution Status Change" event of a stopped run, as SNS delivers it. */
function abortedEvent(input: unknown) {
  const machine = 'stepops-test-recover';
  const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:stepops-test-alerts`;
  const change = {
    version: '0',
    id: '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: ACCOUNT,
    time: '2026-11-22T03:40:00Z',
    region: REGION,
    resources: [`arn:aws:states:${REGION}:${ACCOUNT}:execution:${machine}:${RUN}`],
    detail: {
      executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:${machine}:${RUN}`,
      stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${machine}`,
      name: RUN,
      status: 'ABORTED',
      startDate: 1795318800000,
      stopDate: 1795319100000,
      input: JSON.stringify(input),
      inputDetails: { included: true },
      output: null,
      outputDetails: null,
    },
  };
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: `${topicArn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55`,
        Sns: {
          Type: 'Notification',
          MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
          TopicArn: topicArn,
          Message: JSON.stringify(change),
          Timestamp: '2026-11-22T03:40:01.000Z',
          SignatureVersion: '1',
          Signature: 'EXAMPLE',
          SigningCertUrl: 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0.pem',
          UnsubscribeUrl: `https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}`,
          MessageAttributes: {},
        },
      },
    ],
  };
}

function forwardAlert(event: unknown): Promise<void> {
  return withinInvocation({ functionName: 'forward-alert' }, async () => {
    const { handler } = (await import('../../functions/forward-alert/handler.ts')) as {
      handler: (event: unknown, context: unknown) => Promise<void>;
    };
    return handler(
      event,
      createLambdaContext({
        arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:forward-alert`,
        timeoutSeconds: 60,
      }),
    );
  });
}

describe('a rolling runbook stopped mid-batch on AWS', () => {
  it('alerts naming the instance it left out of the target group, and registers nothing back', async () => {
    // Prepare: both instances healthy in the group; the first one's restart hangs.
    const web = (id: string, n: number) => ({
      id,
      state: 'running',
      tags: { App: 'abort', Name: `web-${n}`, 'stepops:target': TARGET },
      az: 'eu-west-1a',
      volumes: [],
    });
    aws = fakeAws({ instances: [web(WEB1, 1), web(WEB2, 2)], targetGroups: { [GROUP]: [WEB1, WEB2] } });
    (aws.ssm as unknown as AwsStub<ServiceInputTypes, ServiceOutputTypes, SSMClientResolvedConfig>)
      .on(GetParameterCommand, { Name: '/stepops/test/slack-webhook-url', WithDecryption: true })
      .resolves({ Parameter: { Value: webhook } });
    const first = sim.hostDir(WEB1);
    await mkdir(first, { recursive: true });
    await writeFile(path.join(first, 'hang'), '');
    const { engine, tokens } = recoverEngine({
      home,
      commands: () => sim.runner,
      hosts: () => new Ec2HostDirectory(),
      probes: () => recordingProbes(),
      instances: () => new Ec2InstanceOperations(),
      loadBalancer: () => new ElbLoadBalancer(),
    });
    const input = { target: TARGET, runbook: 'restart', reason: 'vitest' };

    // Act: stop the run while the first instance restarts, drained from the group (as StopExecution does).
    const execution = engine.start(input, {
      executionName: RUN,
      onTaskToken: (task) =>
        tokens.sendTaskSuccess(task.token, { approved: true, by: 'vitest', at: new Date().toISOString() }),
    });
    await exists(path.join(first, 'started'));
    execution.abort();
    const result = await execution.result;
    const calls = aws.log.length;
    await forwardAlert(abortedEvent(input));
    const forwarderCalls = aws.log.slice(calls);

    // Assess: the run left the first instance out and the second one in.
    expect(result.status).toBe('FAILED');
    expect(aws.log.filter((c) => c === 'DeregisterTargets')).toHaveLength(1);
    expect(aws.targetGroups.get(GROUP)?.has(WEB1)).toBe(false);
    expect(aws.targetGroups.get(GROUP)?.get(WEB2)).toBe('healthy');
    // The alert names it with its state and group, and only it.
    expect(posted).toHaveLength(1);
    const text = String(posted[0]?.text);
    expect(text).toContain(`recover of ${TARGET} (run ${RUN}) was aborted (StopExecution)`);
    expect(text).toContain(
      `still out of the load balancer: ${WEB1} (unused in ${GROUP}): register them back once they are healthy`,
    );
    expect(text).not.toContain(`${WEB2} (`);
    // Named, not put back: a host stopped mid-script may be broken. The forwarder only read.
    expect(new Set(forwarderCalls)).toEqual(new Set(['DescribeInstances', 'DescribeTargetHealth']));
    expect(aws.targetGroups.get(GROUP)?.has(WEB1)).toBe(false);

    // Cleanup: the invocation in flight when the run stopped goes on (as a Lambda does after
    // StopExecution): its command fails once released, and it registers its batch back.
    await rm(path.join(first, 'hang'));
    while (!aws.log.includes('RegisterTargets')) await new Promise((resolve) => setTimeout(resolve, 20));
  });
});
