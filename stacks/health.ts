/**
 * Scheduled health checks in AWS: the health Lambdas (each with only the calls of its drivers),
 * the **Express** state machine whose definition is exactly `healthWorkflow(arns)`, and one
 * scheduled EventBridge rule per target with a `health` section, starting the state machine
 * directly at the target's declared rate through a role allowed only `states:StartExecution` on it.
 *
 * A rule, not an EventBridge Scheduler schedule as the backups and maintenance jobs have: a health
 * schedule is read in UTC (the Scheduler's time zones and flexible windows buy it nothing), and it
 * runs often: at one round a minute, a Scheduler invocation ($1.00 per million) is a third of what a
 * round costs, while the events of a scheduled rule come from EventBridge itself, an AWS service,
 * and are not billed (bench/RESULTS.md, section 1, cites the pages).
 */

import { type FunctionBundling, functionCode } from './bundling.ts';
import { maintainStateMachineName } from './maintain.ts';
import {
  executionStatusStatements,
  hostStatements,
  notifyStatements,
  type PermissionContext,
  readCommandStatements,
  type Statement,
  sendCommandStatements,
} from './permissions.ts';
import { recoverStateMachineName } from './recover.ts';
import type { Ec2Target, StatusPageMode } from './settings.ts';
import { startRoleFor, workflowStateMachine } from './state-machine.ts';
import { deployStateMachineName, driverEnvironment } from './workflows.ts';

/** The health workflow module's contract (`workflows/health.ts`). */
export interface HealthWorkflowModule {
  HEALTH_FUNCTIONS: readonly string[];
  HEALTH_FUNCTION_TIMEOUTS: Readonly<Record<string, number>>;
  healthWorkflow(arns: Record<string, string>): object;
}

/** Memory of each health function, in MB. */
export const HEALTH_FUNCTION_MEMORY_MB: Readonly<Record<string, number>> = {
  // Mostly waiting on probes and AWS calls, billed by memory while it waits: the least memory with
  // room over what it holds (bundled, about 90 MB after import and 130 MB at peak over 30 rounds
  // of 10 HTTP probes), which 128 MB does not leave.
  'check-target': 256,
  'notify-health-failure': 256,
  // Two SDK clients (DynamoDB, S3) and a page of a few KB: the same room as the others.
  'publish-status-page': 256,
};

/** The function that publishes the status page (created only with a status page). */
const STATUS_PAGE_FUNCTION = 'publish-status-page';

/**
 * The bucket of a stage's status page: named by the stage and the account (bucket names are
 * global), so the CLI and the IAM policy know it without reading the stack.
 *
 * @example
 * statusBucketName('prod', '123456789012') // 'stepops-prod-status-123456789012'
 */
export function statusBucketName(stage: string, account: string): string {
  return `stepops-${stage}-status-${account}`;
}

/** Everything the health stack needs from the others. */
export interface HealthContext extends PermissionContext {
  stage: string;
  region: $util.Input<string>;
  stateTableName: $util.Input<string>;
  commandLogGroup?: string;
  links: $util.Input<unknown>[];
  workflow: HealthWorkflowModule;
  /** How each function is built: its handler's folder and the targets plugin. */
  bundling: FunctionBundling;
  /** The recover state machine the `onFailure` runbooks start; the stage's `stepops-<stage>-recover` by default. */
  recoverStateMachineArn?: $util.Input<string>;
  /** How the public status page is served; absent: no status page (no bucket, no publish step). */
  statusPage?: StatusPageMode;
}

/** PascalCase component name of a health function folder: `check-target` → `HealthCheckTarget`. */
export function healthComponentName(folder: string): string {
  return `Health${folder.replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase())}`;
}

/** PascalCase component name of a target's scheduled rule: `ai-chat` → `HealthScheduleAiChat`. */
export function scheduleComponentName(target: string): string {
  return `HealthSchedule${target.replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase())}`;
}

/**
 * The statements of each health function: check-target finds the hosts, runs host probes through
 * SSM and asks EC2 and SSM about the instances, then reads and writes the state item, reads the
 * target's lease (and whether the deploy, recovery or maintenance execution holding it still runs),
 * publishes alerts and starts the recover state machine; notify-health-failure publishes.
 *
 * @example
 * healthFunctionStatements('check-target', context, recoverArn)
 */
export function healthFunctionStatements(
  folder: string,
  /**
   * With the stage (and its region), check-target may read the status of the stage's deploy,
   * recover and maintenance executions (the runs that take a target's lease).
   */
  context: PermissionContext & { stage?: string; region?: $util.Input<string> },
  recoverArn: $util.Input<string>,
  /** The status page object's ARN (`arn:aws:s3:::<bucket>/index.html`), for publish-status-page. */
  statusPageObjectArn?: $util.Input<string>,
): Statement[] {
  switch (folder) {
    case 'check-target':
      // Probe commands are not sent idempotently (a retried round simply probes again), but a
      // command of several hosts is read back whole with ListCommands (readCommandStatements).
      return [
        ...hostStatements(),
        ...sendCommandStatements(context)
          .map((statement) => ({
            ...statement,
            actions: statement.actions.filter((a) => a !== 'ssm:ListCommands'),
          }))
          .filter((statement) => statement.actions.length > 0),
        ...readCommandStatements(),
        { actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resources: [context.stateTableArn] },
        ...notifyStatements(context),
        { actions: ['states:StartExecution'], resources: [recoverArn] },
        // A target's lease counts only while the execution it names runs (DescribeExecution).
        ...(context.stage
          ? executionStatusStatements(
              context.account,
              context.region ?? '*',
              deployStateMachineName(context.stage),
              recoverStateMachineName(context.stage),
              maintainStateMachineName(context.stage),
            )
          : []),
      ];
    case 'notify-health-failure':
      return notifyStatements(context);
    case STATUS_PAGE_FUNCTION:
      // Reads every target's state item (GetItem each) and puts the one page object.
      if (!statusPageObjectArn) throw new Error('publish-status-page needs the status page bucket');
      return [
        { actions: ['dynamodb:GetItem'], resources: [context.stateTableArn] },
        { actions: ['s3:PutObject'], resources: [statusPageObjectArn] },
      ];
    default:
      throw new Error(`health function "${folder}" has no IAM settings: add it to stacks/health.ts`);
  }
}

/**
 * Creates the health Lambdas, the Express state machine and the targets' scheduled rules.
 *
 * @example
 * const health = createHealth({ ...context, workflow: await import('../workflows/health.ts') });
 */
export function createHealth(context: HealthContext) {
  const recoverArn =
    context.recoverStateMachineArn ??
    $interpolate`arn:aws:states:${context.region}:${context.account}:stateMachine:stepops-${context.stage}-recover`;
  const page = context.statusPage ? createStatusPage(context, context.statusPage) : undefined;
  const functions: Record<string, sst.aws.Function> = {};
  for (const folder of context.workflow.HEALTH_FUNCTIONS) {
    if (folder === STATUS_PAGE_FUNCTION && !page) continue;
    const timeout = context.workflow.HEALTH_FUNCTION_TIMEOUTS[folder];
    if (timeout === undefined)
      throw new Error(`health function "${folder}" has no timeout in workflows/health.ts`);
    functions[folder] = new sst.aws.Function(healthComponentName(folder), {
      ...functionCode(context.bundling, folder),
      runtime: 'nodejs24.x',
      architecture: 'arm64',
      memory: `${HEALTH_FUNCTION_MEMORY_MB[folder] ?? 256} MB`,
      timeout: `${timeout} seconds`,
      environment: {
        ...driverEnvironment(context),
        ...(folder === 'check-target' ? { STEPOPS_RECOVER_STATE_MACHINE_ARN: recoverArn } : {}),
        ...(folder === STATUS_PAGE_FUNCTION && page
          ? {
              STEPOPS_STATUS_BUCKET: page.bucketName,
              STEPOPS_STATUS_TITLE: context.stage,
              STEPOPS_STATUS_TARGETS: (context.targets as readonly Ec2Target[]).map((t) => t.name).join(','),
            }
          : {}),
      },
      link: context.links,
      permissions: healthFunctionStatements(folder, context, recoverArn, page?.objectArn),
    });
  }
  const arns = Object.fromEntries(Object.entries(functions).map(([folder, fn]) => [folder, fn.arn]));
  const definition = $jsonStringify(
    $resolve(arns).apply((resolved) => context.workflow.healthWorkflow(resolved)),
  );

  const { logGroup, role, policy, stateMachine } = workflowStateMachine({
    component: 'Health',
    name: `stepops-${context.stage}-health`,
    account: context.account,
    type: 'EXPRESS',
    definition,
    functionArns: Object.values(arns),
    retentionInDays: 30,
    logLevel: 'ERROR',
  });

  const { role: ruleRole, policy: rulePolicy } = startRoleFor(
    'Health',
    'Rule',
    context.account,
    stateMachine.arn,
  );
  const rules: Record<string, aws.cloudwatch.EventRule> = {};
  const ruleTargets: Record<string, aws.cloudwatch.EventTarget> = {};
  for (const target of context.targets as readonly Ec2Target[]) {
    if (!target.health) continue;
    const component = scheduleComponentName(target.name);
    const rule = new aws.cloudwatch.EventRule(component, {
      name: `stepops-${context.stage}-health-${target.name}`.slice(0, 64),
      description: `stepops health checks of ${target.name}`,
      scheduleExpression: target.health.schedule,
    });
    rules[target.name] = rule;
    ruleTargets[target.name] = new aws.cloudwatch.EventTarget(
      `${component}Target`,
      {
        rule: rule.name,
        arn: stateMachine.arn,
        roleArn: ruleRole.arn,
        input: JSON.stringify({ target: target.name }),
        // A missed round is not worth retrying: the next one is due within the rate.
        retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 },
      },
      { dependsOn: [rulePolicy] },
    );
  }
  return {
    functions,
    arns,
    definition,
    logGroup,
    role,
    policy,
    stateMachine,
    ruleRole,
    rulePolicy,
    rules,
    ruleTargets,
    ...(page ? { statusPage: page } : {}),
  };
}

/**
 * The status page's bucket, private but for the page itself: with `website`, the bucket's website
 * endpoint serves `index.html` to anyone (a bucket policy allows `s3:GetObject` on that key only,
 * and the bucket's Block Public Access allows that policy); with `cloudfront`, the bucket stays
 * fully private and a CloudFront distribution reads the page through an origin access control
 * (HTTPS, cached as long as the page's Cache-Control says).
 */
function createStatusPage(context: HealthContext, mode: StatusPageMode) {
  const bucketName = $output(context.account).apply((account) => statusBucketName(context.stage, account));
  const bucket = new aws.s3.Bucket('StatusPageBucket', {
    bucket: bucketName,
    // It holds only the generated page, published again within minutes.
    forceDestroy: true,
    tags: { 'stepops:stage': context.stage },
  });
  const access = new aws.s3.BucketPublicAccessBlock('StatusPagePublicAccess', {
    bucket: bucket.id,
    blockPublicAcls: true,
    ignorePublicAcls: true,
    blockPublicPolicy: mode !== 'website',
    restrictPublicBuckets: mode !== 'website',
  });
  // SSE-S3: the website endpoint cannot serve KMS-encrypted objects.
  new aws.s3.BucketServerSideEncryptionConfiguration('StatusPageEncryption', {
    bucket: bucket.id,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
  });
  const objectArn = $interpolate`arn:aws:s3:::${bucketName}/index.html`;
  if (mode === 'website') {
    const website = new aws.s3.BucketWebsiteConfiguration('StatusPageWebsite', {
      bucket: bucket.id,
      indexDocument: { suffix: 'index.html' },
    });
    new aws.s3.BucketPolicy(
      'StatusPagePolicy',
      {
        bucket: bucket.id,
        policy: $jsonStringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objectArn }],
        }),
      },
      { dependsOn: [access] },
    );
    return { mode, bucket, bucketName, objectArn, url: $interpolate`http://${website.websiteEndpoint}` };
  }
  const originAccess = new aws.cloudfront.OriginAccessControl('StatusPageOriginAccess', {
    name: $interpolate`stepops-${context.stage}-status`,
    description: 'stepops status page: CloudFront reads the page from its private bucket',
    originAccessControlOriginType: 's3',
    signingBehavior: 'always',
    signingProtocol: 'sigv4',
  });
  const distribution = new aws.cloudfront.Distribution('StatusPageDistribution', {
    enabled: true,
    comment: `stepops ${context.stage} status page`,
    defaultRootObject: 'index.html',
    priceClass: 'PriceClass_100',
    origins: [
      {
        originId: 'status-page',
        domainName: bucket.bucketRegionalDomainName,
        originAccessControlId: originAccess.id,
      },
    ],
    defaultCacheBehavior: {
      targetOriginId: 'status-page',
      viewerProtocolPolicy: 'redirect-to-https',
      allowedMethods: ['GET', 'HEAD'],
      cachedMethods: ['GET', 'HEAD'],
      compress: true,
      // Managed CachingOptimized: keeps the page as long as its Cache-Control max-age (60 s).
      cachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6',
    },
    restrictions: { geoRestriction: { restrictionType: 'none' } },
    viewerCertificate: { cloudfrontDefaultCertificate: true },
  });
  new aws.s3.BucketPolicy(
    'StatusPagePolicy',
    {
      bucket: bucket.id,
      policy: $jsonStringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
            Resource: objectArn,
            Condition: { StringEquals: { 'AWS:SourceArn': distribution.arn } },
          },
        ],
      }),
    },
    { dependsOn: [access] },
  );
  return { mode, bucket, bucketName, objectArn, url: $interpolate`https://${distribution.domainName}` };
}
