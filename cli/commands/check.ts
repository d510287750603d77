import { type CheckOptions, formatReport, runCheck } from '../../shared/check/run.ts';
import { loadTarget } from '../../shared/config/load.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { EXIT, type Output, stdio } from '../output.ts';
import { stageRegion } from '../stage-region.ts';

/** Options of {@link check}. */
export interface CheckCommandOptions extends Omit<CheckOptions, 'stage'> {
  stage?: string;
  env?: NodeJS.ProcessEnv;
  targetsDir?: string;
}

/**
 * Checks a target's hosts (and its stage's resources) and prints the report.
 *
 * @example
 * process.exitCode = await check('zmanim', stdio, { stage: 'prod' });
 * @returns the exit code
 * @throws InvalidInputError for a stage name that is not one, or a stage named for a local target
 */
export async function check(
  name: string,
  output: Output = stdio,
  options: CheckCommandOptions = {},
): Promise<number> {
  const env = options.env ?? process.env;
  const stage = options.stage ?? (env.STEPOPS_STAGE?.trim() || undefined);
  if (stage !== undefined && !/^[a-z][a-z0-9-]{0,29}$/.test(stage)) {
    throw new InvalidInputError(`stage "${stage}": expected lowercase letters, digits and dashes`);
  }
  const target = await loadTarget(name, options.targetsDir);
  if (target.hosts.type === 'local' && stage !== undefined) {
    throw new InvalidInputError(
      `target "${target.name}" has local hosts: a stage never runs it (local targets run on the local engine only); run stepops check ${target.name} without --stage`,
    );
  }
  if (target.hosts.type === 'ec2' && stage === undefined) {
    throw new InvalidInputError(
      `target "${target.name}" has ec2 hosts: name the stage that will run it with --stage <stage> (or STEPOPS_STAGE), so that its Slack parameter and dump buckets are checked where the stage looks for them`,
    );
  }
  const { stage: _, env: __, targetsDir: ___, ...rest } = options;
  const items = await runCheck(target, {
    ...rest,
    ...(stage !== undefined ? { stage: { name: stage, region: stageRegion(env), env } } : {}),
  });
  for (const line of formatReport(items)) output.out(line);
  return items.some((i) => i.status === 'fail') ? EXIT.unexpected : EXIT.ok;
}
