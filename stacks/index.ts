/**
 * The stepops stacks, wired together: storage, alerts, the deploy workflow and its API. Called by
 * `run()` in `sst.config.ts`; returns the stack outputs.
 */
import { createAlerts, createRunFailureAlerts } from './alerts.ts';
import { createApi } from './api.ts';
import { createBackup } from './backup.ts';
import { createCommandLogGroup } from './command-logs.ts';
import { createHealth } from './health.ts';
import { createRecover } from './recover.ts';
import { type StageSettings, stageSettings } from './settings.ts';
import { createStorage } from './storage.ts';
import { createWorkflows, type DeployWorkflowModule } from './workflows.ts';

/** Options for tests: the settings and the workflow module instead of the real ones. */
export interface StacksOptions {
  settings?: StageSettings;
  workflow?: DeployWorkflowModule;
}

/**
 * Creates every resource of a stage.
 *
 * @example
 * // sst.config.ts
 * async run() { return (await import('./stacks/index.ts')).createStacks(); }
 */
export async function createStacks(options: StacksOptions = {}) {
  const settings = options.settings ?? stageSettings($app.stage);
  if (settings.skippedLocalTargets.length > 0) {
    console.log(
      `stepops: not deploying ${settings.skippedLocalTargets.join(', ')} (local hosts: local engine only)`,
    );
  }
  const workflow: DeployWorkflowModule = options.workflow ?? (await import('../workflows/deploy.ts'));
  const account = aws.getCallerIdentityOutput({}).accountId;
  const region = aws.getRegionOutput({}).region;

  const storage = createStorage();
  const alerts = createAlerts({ settings, account, region });
  if (settings.commandLogGroup) createCommandLogGroup(settings.commandLogGroup);
  const deploy = createWorkflows({
    stage: $app.stage,
    account,
    targets: settings.targets,
    stateTableArn: storage.table.arn,
    stateTableName: storage.table.name,
    alertsTopicArn: alerts.topic.arn,
    ...(settings.commandLogGroup ? { commandLogGroup: settings.commandLogGroup } : {}),
    links: [storage.link, alerts.link],
    workflow,
  });
  const api = createApi({
    settings,
    account,
    region,
    stateMachine: deploy.stateMachine,
    stateMachineLink: deploy.link,
    stateTable: storage.table,
    stateTableLink: storage.link,
  });

  const backup = createBackup({
    stage: $app.stage,
    account,
    targets: settings.targets,
    alertsTopicArn: alerts.topic.arn,
    stateTableArn: storage.table.arn,
    stateTableName: storage.table.name,
    ...(settings.commandLogGroup ? { commandLogGroup: settings.commandLogGroup } : {}),
    links: [alerts.link],
    workflow: await import('../workflows/backup.ts'),
  });

  const recover = createRecover({
    ...{ stage: $app.stage, account, region, targets: settings.targets, links: [storage.link, alerts.link] },
    ...{
      stateTableArn: storage.table.arn,
      stateTableName: storage.table.name,
      alertsTopicArn: alerts.topic.arn,
    },
    ...(settings.commandLogGroup ? { commandLogGroup: settings.commandLogGroup } : {}),
    api: api.api,
    backupTable: { name: backup.table.name, arn: backup.table.arn },
    workflow: await import('../workflows/recover.ts'),
    approvalSecretParameter:
      process.env.STEPOPS_APPROVAL_SECRET_PARAMETER ?? `/stepops/${$app.stage}/approval-signing-key`,
  });

  const health = createHealth({
    stage: $app.stage,
    account,
    region,
    targets: settings.targets,
    stateTableArn: storage.table.arn,
    stateTableName: storage.table.name,
    alertsTopicArn: alerts.topic.arn,
    ...(settings.commandLogGroup ? { commandLogGroup: settings.commandLogGroup } : {}),
    links: [storage.link, alerts.link],
    workflow: await import('../workflows/health.ts'),
    recoverStateMachineArn: recover.stateMachine.arn,
    ...(settings.statusPage ? { statusPage: settings.statusPage } : {}),
  });

  createRunFailureAlerts({
    topicArn: alerts.topic.arn,
    stateMachineArns: [deploy.stateMachine.arn, backup.stateMachine.arn, recover.stateMachine.arn],
  });

  return {
    api: api.api.url,
    recoverStateMachine: recover.stateMachine.arn,
    backupStateMachine: backup.stateMachine.arn,
    backupTable: backup.table.name,
    /** Each dump bucket and its region (the region every S3 call and presigned URL of it uses). */
    dumpBuckets: backup.bucketPlans
      .map((b) => `${b.bucket} (${b.region}${b.existing ? ', existing' : ''})`)
      .join(', '),
    healthStateMachine: health.stateMachine.arn,
    ...(health.statusPage ? { statusPage: health.statusPage.url } : {}),
    deployStateMachine: deploy.stateMachine.arn,
    alertsTopic: alerts.topic.arn,
    stateTable: storage.table.name,
    targets: settings.targets.map((t) => t.name).join(','),
  };
}
