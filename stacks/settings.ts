/**
 * What a stage deploys: its targets and the names of its secrets. Read once by `stacks/index.ts`
 * from the stage name and the environment of `sst deploy`, once the registry has discovered the
 * targets directory; the stack tests call it directly.
 *
 * Targets: every target of the targets directory whose hosts are on EC2, or exactly those listed in
 * `STEPOPS_TARGETS` (comma-separated). Targets with `local` hosts (the `demo` target) run on the local
 * engine only: they are left out of the default list, and naming one in `STEPOPS_TARGETS` refuses
 * the deploy with a message that says why. A target with values still `unfilled(…)` is refused.
 */
import { discoveredTargetFiles, findTarget, listTargets } from '../shared/config/registry.ts';
import { type Target, unfilledValues } from '../shared/config/schema.ts';

/** A target with EC2 hosts: the only kind a stage deploys. */
export type Ec2Target = Target & { hosts: Extract<Target['hosts'], { type: 'ec2' }> };

/** How the public status page is served. */
export type StatusPageMode = 'website' | 'cloudfront';

/** A stage's settings. */
export interface StageSettings {
  stage: string;
  /** The targets the stage serves (never local ones). */
  targets: Ec2Target[];
  /** Local targets left out of the default list, for the deploy's log. */
  skippedLocalTargets: string[];
  /** CloudWatch Logs group that receives the full output of every command (`STEPOPS_COMMAND_LOG_GROUP`). */
  commandLogGroup?: string;
  /**
   * The public status page (`STEPOPS_STATUS_PAGE`): published by the health workflow to a bucket
   * served by the bucket's `website` endpoint or a `cloudfront` distribution; absent (`off`, the
   * default): no bucket, no publish step. Off by default because a public page is a disclosure to
   * opt into, and a public bucket needs the account's S3 Block Public Access to allow it.
   */
  statusPage?: StatusPageMode;
  /** SSM parameter names of the stage's secrets (the values are created by hand, see the README, "Running on AWS"). */
  parameters: {
    /** SecureString: the GitHub webhook secret. */
    githubWebhookSecret: string;
    /** String or SecureString: hex SHA-256 of the API token. */
    apiTokenHash: string;
    /** SecureString: the Slack incoming-webhook URL for targets that do not name their own. */
    slackWebhookUrl: string;
  };
}

/** The deploy was asked to include something it cannot deploy. */
export class StageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageConfigError';
  }
}

function isEc2(target: Target): target is Ec2Target {
  return target.hosts.type === 'ec2';
}

/**
 * The settings of a stage.
 *
 * @example
 * stageSettings('prod', { STEPOPS_TARGETS: 'zmanim,shop' }).targets.map((t) => t.name) // ['zmanim', 'shop']
 * @throws StageConfigError when `STEPOPS_TARGETS` names a local target or an unknown one, no target is
 * left, or a target has `unfilled(…)` values
 * @throws ConfigError when a target file of the stage does not load or is invalid, naming the file
 */
export function stageSettings(
  stage: string,
  env: Record<string, string | undefined> = process.env,
): StageSettings {
  if (!/^[a-z][a-z0-9-]{0,29}$/.test(stage)) {
    throw new StageConfigError(`stage "${stage}": expected lowercase letters, digits and dashes`);
  }
  const requested = (env.STEPOPS_TARGETS ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const targets: Ec2Target[] = [];
  const skippedLocalTargets: string[] = [];
  if (requested.length > 0) {
    const known = listTargets();
    for (const name of requested) {
      if (!known.includes(name)) {
        throw new StageConfigError(
          `STEPOPS_TARGETS: unknown target "${name}" (known targets: ${known.join(', ')})`,
        );
      }
      const target = findTarget(name);
      if (!isEc2(target)) {
        throw new StageConfigError(
          `target "${name}" declares local hosts (${target.hosts.type === 'local' ? target.hosts.directory : ''}): ` +
            'local targets run on the local engine only and cannot be deployed to AWS; remove it from STEPOPS_TARGETS',
        );
      }
      targets.push(target);
    }
  } else {
    for (const name of listTargets()) {
      const target = findTarget(name);
      if (isEc2(target)) targets.push(target);
      else skippedLocalTargets.push(name);
    }
  }
  if (targets.length === 0) {
    throw new StageConfigError(
      'no target to deploy: every target has local hosts or STEPOPS_TARGETS is empty',
    );
  }
  // A stage would schedule backups and recoveries with a marker where AWS needs an id: refused.
  const files = discoveredTargetFiles();
  const unfilled = targets.flatMap((target) =>
    unfilledValues(target).map(
      (value) =>
        `${files.get(target.name) ?? `targets/${target.name}.ts`}: ${value.path}: unfilled: ${value.what}`,
    ),
  );
  if (unfilled.length > 0) {
    throw new StageConfigError(
      `values to fill in before this stage deploys (their operations documents do not give them; \`stepops validate --stage ${stage}\` lists them):\n${unfilled.join('\n')}\nfill them in, or leave those targets out with STEPOPS_TARGETS`,
    );
  }
  const commandLogGroup = env.STEPOPS_COMMAND_LOG_GROUP?.trim() || undefined;
  if (commandLogGroup !== undefined && !/^[\w./#-]{1,512}$/.test(commandLogGroup)) {
    throw new StageConfigError(
      `STEPOPS_COMMAND_LOG_GROUP: "${commandLogGroup}" is not a log group name (letters, digits, "_", "-", "/", ".", "#")`,
    );
  }
  const statusPage = (env.STEPOPS_STATUS_PAGE ?? '').trim() || 'off';
  if (!['off', 'website', 'cloudfront'].includes(statusPage)) {
    throw new StageConfigError(
      `STEPOPS_STATUS_PAGE: "${statusPage}" is not a status page mode (off, website or cloudfront)`,
    );
  }
  const prefix = `/stepops/${stage}`;
  return {
    stage,
    targets,
    skippedLocalTargets,
    ...(commandLogGroup ? { commandLogGroup } : {}),
    ...(statusPage !== 'off' ? { statusPage: statusPage as StatusPageMode } : {}),
    parameters: {
      githubWebhookSecret: env.STEPOPS_GITHUB_WEBHOOK_SECRET_PARAMETER ?? `${prefix}/github-webhook-secret`,
      apiTokenHash: env.STEPOPS_API_TOKEN_HASH_PARAMETER ?? `${prefix}/api-token-sha256`,
      slackWebhookUrl: env.STEPOPS_SLACK_WEBHOOK_PARAMETER ?? `${prefix}/slack-webhook-url`,
    },
  };
}
