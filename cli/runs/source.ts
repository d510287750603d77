/**
 * Where the operator's commands read runs: a stage on AWS (`--stage S`, or `STEPOPS_STAGE`), else
 * the local runs (`--local`, the default when no stage is named).
 */
import { userInfo } from 'node:os';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { UsageError } from '../output.ts';
import { LocalRunSource } from './local.ts';
import type { RunSource } from './model.ts';
import { workflowNames } from './workflows.ts';

/** The options every run command takes. */
export interface WhereOptions {
  stage?: string;
  local?: boolean;
}

/** What the commands need from the outside world (tests pass a mocked client). */
export interface SourceDeps {
  sfn?: SFNClient;
  env?: NodeJS.ProcessEnv;
}

/**
 * The stage the options name (`--stage`, else `STEPOPS_STAGE`), or undefined for local runs.
 *
 * @example
 * stageOf({ stage: 'prod' }) // 'prod'
 * @throws UsageError when both `--stage` and `--local` are given, or the stage is not a stage name
 */
export function stageOf(options: WhereOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (options.stage !== undefined && options.local)
    throw new UsageError('give either --stage or --local, not both');
  if (options.local) return undefined;
  const stage = options.stage ?? (env.STEPOPS_STAGE || undefined);
  if (stage !== undefined && !/^[a-z][a-z0-9-]{0,29}$/.test(stage)) {
    throw new UsageError(`--stage ${JSON.stringify(stage)}: expected lowercase letters, digits and dashes`);
  }
  return stage;
}

/**
 * The run source for the options.
 *
 * @example
 * const source = await runSourceFor({ stage: 'prod' });
 * @throws AwsSetupError (exit 2) without credentials or for a stage that does not exist
 */
export async function runSourceFor(options: WhereOptions, deps: SourceDeps = {}): Promise<RunSource> {
  const stage = stageOf(options, deps.env);
  if (stage === undefined) return new LocalRunSource();
  // The Step Functions client loads only for a stage: local runs need none of the AWS SDK.
  const { SfnRunSource, sfnClient, stageStateMachines } = await import('./aws.ts');
  const client = deps.sfn ?? sfnClient(deps.env);
  return new SfnRunSource(client, stage, await stageStateMachines(client, stage, workflowNames()));
}

/** The OS account this process runs as, or undefined where the system cannot say. */
function osUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Who starts a run from this shell, as history and the alerts show it: the user (`USER`, else the
 * OS account the process runs as, as in a container or a cron job without `USER`) and the command.
 *
 * @example
 * requester('deploy', { USER: 'ana' }) // 'ana (stepops deploy)'
 */
export function requester(
  command: string,
  env: NodeJS.ProcessEnv = process.env,
  accountName: () => string | undefined = osUser,
): string {
  return `${env.USER || accountName() || 'someone'} (stepops ${command})`;
}

export { WHERE_HELP } from './where-help.ts';
