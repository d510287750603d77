/**
 * `stepops validate [target...] [--stage S]`: validates target files (every file in targets/ when
 * none is named) and lists every problem as `file: path: message`. With `--stage`, also what must
 * be filled in before the stage can deploy them (`unfilled(…)` values). Exit 0 when all are valid,
 * 2 otherwise.
 */
import type { Command } from 'commander';
import {
  type ConfigIssue,
  formatIssue,
  isTargetPath,
  type LoadedTarget,
  loadTargets,
  resolveTargetFile,
} from '../../shared/config/load.ts';
import { unregisteredTargetFiles } from '../../shared/config/registry.ts';
import { unfilledValues } from '../../shared/config/schema.ts';
import { EXIT, type Output, stdio } from '../output.ts';

/**
 * Validates the named targets (names or file paths), printing ✓ per valid target and every issue of
 * the invalid ones. A file of `targets/` missing from the registry in `targets/index.ts` is an issue
 * too, naming the lines to add.
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
  const named = names.filter((name) => !isTargetPath(name));
  // A file the Lambdas' registry lacks would validate, plan and run here but be unknown on AWS.
  const unregistered = unregisteredTargetFiles(targetsDir, names.length === 0 ? undefined : named);
  const registered = loaded.loaded.filter(
    (l) => !unregistered.some((issue) => issue.target === l.target.name),
  );
  const issues = [...loaded.issues, ...unregistered];
  const stageIssues =
    stage === undefined ? [] : forStage(stage, registered, names, options.env ?? process.env);
  issues.push(...stageIssues);
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
  /** For `STEPOPS_TARGETS` (the stage's targets when none is named). */
  env?: NodeJS.ProcessEnv;
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

/**
 * Adds `validate` to the program.
 *
 * @example
 * register(new Command('stepops'));
 */
export function register(program: Command): void {
  program
    .command('validate')
    .description('validate target files (all of targets/ when none given); exit 2 listing every problem')
    .argument('[target...]', 'target names (targets/<name>.ts) or paths to target files')
    .option('--stage <stage>', 'also list the values to fill in before this stage can deploy the targets')
    .action(async (names: string[], options: { stage?: string }) => {
      process.exitCode = await validate(
        names,
        stdio,
        options.stage !== undefined ? { stage: options.stage } : {},
      );
    });
}
