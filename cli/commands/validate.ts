import {
  type ConfigIssue,
  formatIssue,
  type LoadedTarget,
  loadTargets,
  resolveTargetFile,
} from '../../shared/config/load.ts';
import { unfilledValues } from '../../shared/config/schema.ts';
import { EXIT, type Output, stdio } from '../output.ts';
import { stageRegion } from '../stage-region.ts';

/**
 * Validates the named targets (names or file paths), printing ✓ per valid target and every issue of
 * the invalid ones. A file of the targets directory named as no target may be is an issue too.
 *
 * @example
 * const code = await validate(['datizmo', './my-target.ts']);
 * const ready = await validate([], stdio, { stage: 'prod' }); // 2 while a value is unfilled
 * @returns the exit code
 */
export async function validate(
  names: readonly string[],
  output: Output = stdio,
  options: ValidateOptions = {},
): Promise<number> {
  const { targetsDir, stage } = options;
  if (stage !== undefined && !/^[a-z][a-z0-9-]{0,29}$/.test(stage)) {
    output.err(`stepops: stage "${stage}": expected lowercase letters, digits and dashes`);
    return EXIT.invalidInput;
  }
  const loaded = await loadTargets(names, targetsDir);
  const registered = loaded.loaded;
  const issues = [...loaded.issues];
  const stageIssues =
    stage === undefined ? [] : forStage(stage, registered, names, options.env ?? process.env);
  issues.push(...stageIssues);
  if (stage !== undefined) {
    // Only of targets otherwise ready: an invalid file calls nothing.
    const ready = registered.filter((l) => !issues.some((issue) => issue.file === l.file));
    const slack = await missingSlackParameters(ready, options.env ?? process.env, options.parameters);
    stageIssues.push(...slack);
    issues.push(...slack);
  }
  const targets = registered
    .filter((l) => !stageIssues.some((issue) => issue.file === l.file))
    .map((l) => l.target);
  for (const target of targets) {
    // A local target the stage leaves out is valid, but not for the stage.
    output.out(
      stage !== undefined && target.hosts.type === 'local'
        ? `- ${target.name} (local hosts: left out of stage ${stage})`
        : `✓ ${target.name}`,
    );
  }
  for (const issue of issues) output.err(formatIssue(issue));
  const invalidFiles = new Set(issues.map((i) => i.file)).size;
  if (invalidFiles > 0) {
    output.err(
      `${invalidFiles} invalid target file${invalidFiles === 1 ? '' : 's'}, ${issues.length} problem${issues.length === 1 ? '' : 's'}; ${targets.length} valid`,
    );
    return EXIT.invalidInput;
  }
  if (targets.length === 0) {
    output.err(
      `no target files found${names.length === 0 ? ` in ${resolveTargetFile('x').replace(/x\.ts$/, '')}` : ''}`,
    );
    return EXIT.invalidInput;
  }
  return EXIT.ok;
}

/** Options of {@link validate}. */
export interface ValidateOptions {
  /** Where the target files are (tests point it elsewhere). */
  targetsDir?: string;
  /** Check also what a deploy to this stage needs filled in. */
  stage?: string;
  /** For `STEPOPS_TARGETS` (the stage's targets when none is named) and `STEPOPS_REGION`. */
  env?: NodeJS.ProcessEnv;
  /** Which of these SSM parameters do not exist in the region (SSM GetParameters by default). */
  parameters?: (names: string[], region: string) => Promise<string[]>;
}

/**
 * The Slack webhook parameter each ec2 target names that does not exist in the stage's region,
 * where the alerts forwarder reads it.
 */
async function missingSlackParameters(
  loaded: readonly LoadedTarget[],
  env: NodeJS.ProcessEnv,
  parameters: (names: string[], region: string) => Promise<string[]> = async (names, region) => {
    // The SSM client loads only when a target names a parameter to look up.
    const { missingParameters } = await import('../../shared/check/aws.ts');
    return missingParameters(names, region);
  },
): Promise<ConfigIssue[]> {
  const named = loaded.filter((l) => l.target.hosts.type === 'ec2' && l.target.alerts.slackWebhookParameter);
  if (named.length === 0) return [];
  const region = stageRegion(env);
  let missing: string[];
  try {
    missing = await parameters(
      named.map((l) => l.target.alerts.slackWebhookParameter as string),
      region,
    );
  } catch (error) {
    return named.map((l) => ({
      file: l.file,
      path: 'alerts.slackWebhookParameter',
      message: `could not check that SSM parameter ${l.target.alerts.slackWebhookParameter} exists in ${region}: ${(error as Error).message}`,
    }));
  }
  return named
    .filter((l) => missing.includes(l.target.alerts.slackWebhookParameter as string))
    .map((l) => ({
      file: l.file,
      path: 'alerts.slackWebhookParameter',
      message: `SSM parameter ${l.target.alerts.slackWebhookParameter} does not exist in ${region} (the stage's region, STEPOPS_REGION): create it (aws ssm put-parameter --region ${region} --type SecureString --name ${l.target.alerts.slackWebhookParameter} --value <webhook URL>), or remove the line`,
    }));
}

/**
 * What stands between a stage and its targets, as the stage itself refuses them: every
 * `unfilled(…)` value of each ec2 target it serves (those named, else those of `STEPOPS_TARGETS`,
 * else every ec2 target), and a local target named or listed (it cannot run on a stage).
 */
function forStage(
  stage: string,
  loaded: readonly LoadedTarget[],
  names: readonly string[],
  env: NodeJS.ProcessEnv,
): ConfigIssue[] {
  const listed = (env.STEPOPS_TARGETS ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const chosen =
    names.length > 0 || listed.length === 0 ? loaded : loaded.filter((l) => listed.includes(l.target.name));
  // As the stage does: a local target it is asked to serve is refused; one it is not is left out.
  const asked = names.length > 0 || listed.length > 0;
  return chosen.flatMap((l): ConfigIssue[] => {
    if (l.target.hosts.type === 'local') {
      return asked
        ? [
            {
              file: l.file,
              path: 'hosts',
              message: `local hosts: target "${l.target.name}" runs on the local engine only and cannot run on stage ${stage} (give it ec2 hosts, or leave it out${listed.length > 0 ? ' of STEPOPS_TARGETS' : ''})`,
            },
          ]
        : [];
    }
    return unfilledValues(l.target).map((value) => ({
      file: l.file,
      path: value.path,
      message: `unfilled: ${value.what} (fill it in before stage ${stage} deploys this target)`,
    }));
  });
}
