/**
 * The stepops stacks, wired together: storage, alerts, the deploy workflow and its API. Called by
 * `run()` in `sst.config.ts` (this repository's, or a user's that builds them from the package);
 * returns the stack outputs.
 */
import path from 'node:path';
import { listTargetFiles, targetsDirectory } from '../shared/config/discovery.ts';
import { formatIssue } from '../shared/config/load.ts';
import { discoverTargets } from '../shared/config/registry.ts';
import { createAlerts, createRunFailureAlerts } from './alerts.ts';
import { createApi } from './api.ts';
import { createBackup } from './backup.ts';
import { prepareBundling } from './bundling.ts';
import { createCommandLogGroup } from './command-logs.ts';
import { createHealth } from './health.ts';
import { createMaintain } from './maintain.ts';
import { createRecover } from './recover.ts';
import { StageConfigError, type StageSettings, stageSettings } from './settings.ts';
import { createStorage } from './storage.ts';
import { createWorkflows, type DeployWorkflowModule } from './workflows.ts';

/** Where the stacks find the targets and the handlers; for tests, the settings and the workflow module. */
export interface StacksOptions {
  /**
   * The targets directory, relative to the app's root (default: `$STEPOPS_TARGETS_DIR`, else
   * `stepops/targets/` when the app has one, else `targets/`). Every target file in it is known to
   * the stage; the Lambdas bundle those the stage deploys.
   */
  targetsDir?: string;
  /** The folder of stepops' handlers (default: the installed package's, or this repository's `functions/`). */
  functionsDir?: string;
  settings?: StageSettings;
  workflow?: DeployWorkflowModule;
}

/**
 * Creates every resource of a stage.
 *
 * @example
 * // sst.config.ts of an app that installed stepops
 * async run() { return (await import('stepops/stacks')).createStacks({ targetsDir: 'stepops/targets' }); }
 * @throws TargetsDirectoryError when the targets directory does not exist
 * @throws StageConfigError when a file of the targets directory is named as no target may be, or
 * the stage's settings are refused (see {@link stageSettings})
 * @throws ConfigError when a target file of the stage does not load or is invalid
 */
export async function createStacks(options: StacksOptions = {}) {
  const root = $cli.paths.root;
  const targetsDir = targetsDirectory({ dir: options.targetsDir, cwd: root });
  const misnamed = await discoverTargets(targetsDir);
  if (misnamed.length > 0) throw new StageConfigError(misnamed.map(formatIssue).join('\n'));
  const settings = options.settings ?? stageSettings($app.stage);
  const stageTargets = new Set(settings.targets.map((t) => t.name));
  const bundling = await prepareBundling({
    root,
    work: $cli.paths.work,
    targets: listTargetFiles(targetsDir).files.filter((f) => stageTargets.has(f.name)),
    functionsDir: options.functionsDir === undefined ? undefined : path.resolve(root, options.functionsDir),
  });
  if (settings.skippedLocalTargets.length > 0) {
    console.log(
      `stepops: not deploying ${settings.skippedLocalTargets.join(', ')} (local hosts: local engine only)`,
    );
  }
  const workflow: DeployWorkflowModule = options.workflow ?? (await import('../workflows/deploy.ts'));
  const account = aws.getCallerIdentityOutput({}).accountId;
  const region = aws.getRegionOutput({}).region;

  const storage = createStorage();
  const alerts = createAlerts({ settings, bundling, account, region });
  if (settings.commandLogGroup) createCommandLogGroup(settings.commandLogGroup);
  const deploy = createWorkflows({
    stage: $app.stage,
    bundling,
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
    bundling,
    account,
    region,
    stateMachine: deploy.stateMachine,
    stateMachineLink: deploy.link,
    stateTable: storage.table,
    stateTableLink: storage.link,
  });

  const backup = createBackup({
    stage: $app.stage,
    bundling,
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
    bundling,
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
    bundling,
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

  const maintain = createMaintain({
    stage: $app.stage,
    bundling,
    account,
    region,
    targets: settings.targets,
    stateTableArn: storage.table.arn,
    stateTableName: storage.table.name,
    alertsTopicArn: alerts.topic.arn,
    ...(settings.commandLogGroup ? { commandLogGroup: settings.commandLogGroup } : {}),
    links: [storage.link, alerts.link],
    workflow: await import('../workflows/maintain.ts'),
  });

  createRunFailureAlerts({
    topicArn: alerts.topic.arn,
    stateMachineArns: [
      deploy.stateMachine.arn,
      backup.stateMachine.arn,
      recover.stateMachine.arn,
      maintain.stateMachine.arn,
    ],
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
    maintenanceStateMachine: maintain.stateMachine.arn,
    ...(health.statusPage ? { statusPage: health.statusPage.url } : {}),
    deployStateMachine: deploy.stateMachine.arn,
    alertsTopic: alerts.topic.arn,
    stateTable: storage.table.name,
    targets: settings.targets.map((t) => t.name).join(','),
  };
}
