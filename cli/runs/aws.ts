/**
 * A stage's runs on AWS: its state machines found by name (`stepops-<stage>-<workflow>`, as the
 * stacks name them), executions listed and described, histories read page by page. Errors that
 * mean "set up AWS first" (no credentials, no region, unknown stage) are {@link AwsSetupError}s:
 * the commands print them and exit 2.
 */

import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  paginateListExecutions,
  paginateListStateMachines,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { EXECUTION_NAME_PATTERN, executionArn } from '../../shared/api/execution.ts';
import type { TraceEvent } from '../../shared/engine/trace.ts';
import { InvalidInputError, isNamedError } from '../../shared/errors.ts';
import { stageRegion } from '../stage.ts';
import type { RunEventReader, RunSource, RunStatus, RunSummary } from './model.ts';
import { HistoryReader } from './sfn-history.ts';
import { workflowEntry } from './workflows.ts';

/** AWS is not usable as configured (credentials, region, stage): exit 2, nothing started. */
export class AwsSetupError extends InvalidInputError {
  constructor(message: string) {
    super(message);
    this.name = 'AwsSetupError';
  }
}

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'TokenRefreshRequired',
]);

/**
 * Turns an SDK error that means "AWS is not set up" into an {@link AwsSetupError} saying what to set;
 * any other error is returned as it is.
 *
 * @example
 * throw awsSetupErrorOf(error);
 */
export function awsSetupErrorOf(error: unknown): unknown {
  const name = (error as { name?: unknown } | null)?.name;
  const message = String((error as { message?: unknown } | null)?.message ?? '');
  if (/region is missing|region not accepted/i.test(message)) {
    return new AwsSetupError('no AWS region: set AWS_REGION (or a region in the AWS_PROFILE you use)');
  }
  if (
    (typeof name === 'string' && CREDENTIAL_ERRORS.has(name)) ||
    /could not load credentials/i.test(message)
  ) {
    return new AwsSetupError(
      `no usable AWS credentials (${typeof name === 'string' ? name : 'error'}): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_REGION`,
    );
  }
  return error;
}

async function aws<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw awsSetupErrorOf(error);
  }
}

/**
 * The name a stage's state machine has: `stepops-<stage>-<workflow>`.
 *
 * @example
 * stateMachineName('prod', 'deploy') // 'stepops-prod-deploy'
 */
export function stateMachineName(stage: string, workflow: string): string {
  return `stepops-${stage}-${workflow}`;
}

/**
 * Finds a stage's state machines, one per workflow that it has.
 *
 * @example
 * const arns = await stageStateMachines(new SFNClient({}), 'prod', ['deploy']); // { deploy: 'arn:…' }
 * @throws AwsSetupError when the stage has none of them, naming the stages that exist
 */
export async function stageStateMachines(
  client: SFNClient,
  stage: string,
  workflows: readonly string[],
): Promise<Record<string, string>> {
  if (!/^[a-z][a-z0-9-]{0,29}$/.test(stage)) {
    throw new AwsSetupError(
      `--stage ${JSON.stringify(stage)}: expected lowercase letters, digits and dashes`,
    );
  }
  const found: Record<string, string> = {};
  const stages = new Set<string>();
  const pattern = new RegExp(`^stepops-([a-z][a-z0-9-]*)-(${workflows.join('|')})$`);
  await aws(async () => {
    for await (const page of paginateListStateMachines({ client }, {})) {
      for (const machine of page.stateMachines ?? []) {
        const match = pattern.exec(machine.name ?? '');
        if (!match) continue;
        stages.add(match[1]!);
        if (match[1] === stage && machine.stateMachineArn) found[match[2]!] = machine.stateMachineArn;
      }
    }
  });
  if (Object.keys(found).length === 0) {
    const region = await client.config.region().catch(() => 'this region');
    const known = [...stages].sort();
    throw new AwsSetupError(
      `no stage "${stage}" in ${region}: ${known.length > 0 ? `stages found: ${known.join(', ')}` : 'no stepops stage is deployed there (deploy one with `npx sst deploy --stage <stage>`, or check AWS_REGION)'}`,
    );
  }
  return found;
}

const STATUSES = new Set(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']);

function summaryOf(workflow: string, stage: string, execution: DescribeExecutionCommandOutput): RunSummary {
  let input: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(execution.input ?? '{}') as unknown;
    if (parsed && typeof parsed === 'object') input = parsed as Record<string, unknown>;
  } catch {
    input = {};
  }
  const text = (key: string) => (typeof input[key] === 'string' ? { [key]: input[key] as string } : {});
  const status = STATUSES.has(execution.status ?? '') ? (execution.status as RunStatus) : 'RUNNING';
  return {
    runId: execution.name ?? execution.executionArn?.split(':').pop() ?? '?',
    workflow,
    status,
    ...text('target'),
    ...text('ref'),
    ...text('reason'),
    ...text('requestedBy'),
    startedAt: (execution.startDate ?? new Date(0)).toISOString(),
    ...(execution.stopDate ? { stoppedAt: execution.stopDate.toISOString() } : {}),
    ...(execution.error ? { error: execution.error } : {}),
    ...(execution.cause ? { cause: execution.cause } : {}),
    where: stage,
    ...(execution.executionArn ? { executionArn: execution.executionArn } : {}),
  };
}

/** Events per `GetExecutionHistory` page (the API's maximum is 1000). */
const HISTORY_PAGE = 500;

/** The name Step Functions gives an execution started without one (a UUID), as Scheduler starts them. */
const GENERATED_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A stage's executions as a {@link RunSource}.
 *
 * @example
 * const source = new SfnRunSource(client, 'prod', await stageStateMachines(client, 'prod', ['deploy']));
 * const [last] = await source.list('deploy', { target: 'zmanim', limit: 1 });
 */
export class SfnRunSource implements RunSource {
  readonly where: string;
  readonly client: SFNClient;
  readonly stateMachines: Readonly<Record<string, string>>;

  constructor(client: SFNClient, stage: string, stateMachines: Readonly<Record<string, string>>) {
    this.client = client;
    this.where = stage;
    this.stateMachines = stateMachines;
  }

  /** The ARN of a workflow's state machine on this stage. */
  stateMachineArn(workflow: string): string {
    const arn = this.stateMachines[workflow];
    if (!arn) {
      throw new AwsSetupError(
        `stage "${this.where}" has no ${workflow} workflow (it has: ${Object.keys(this.stateMachines).sort().join(', ')})`,
      );
    }
    return arn;
  }

  async list(
    workflow: string,
    options: { target?: string; limit: number; running?: boolean },
  ): Promise<RunSummary[]> {
    if (workflowEntry(workflow).express) {
      throw new AwsSetupError(
        `${workflow} is an Express workflow: Step Functions keeps no history of its runs to list (they are in its CloudWatch Logs); \`stepops status\` shows what its checks recorded`,
      );
    }
    const stateMachineArn = this.stateMachineArn(workflow);
    // Runs stepops starts are named `<target>-…` (deploys `<target>-<16 hex>`); those EventBridge
    // Scheduler starts get the UUID Step Functions makes up. The input's `target` decides, so that
    // `api-server` does not take the runs of `api-server-eu`.
    const prefix = options.target ? `${options.target}-` : undefined;
    const mayBeOfTarget = (name = '') => !prefix || name.startsWith(prefix) || GENERATED_NAME.test(name);
    const runs: RunSummary[] = [];
    await aws(async () => {
      for await (const page of paginateListExecutions(
        { client: this.client },
        { stateMachineArn, ...(options.running ? { statusFilter: 'RUNNING' as const } : {}) },
      )) {
        for (const execution of page.executions ?? []) {
          if (!execution.executionArn || !mayBeOfTarget(execution.name)) continue;
          const described = await this.client.send(
            new DescribeExecutionCommand({ executionArn: execution.executionArn }),
          );
          const run = summaryOf(workflow, this.where, described);
          if (options.target && run.target !== undefined && run.target !== options.target) continue;
          runs.push(run);
          if (runs.length >= options.limit) return;
        }
      }
    });
    return runs;
  }

  /** The run of that name, looked for in every workflow of the stage, or in `workflow` only. */
  async describe(runId: string, workflow?: string): Promise<RunSummary | undefined> {
    if (!EXECUTION_NAME_PATTERN.test(runId)) return undefined;
    const machines = workflow
      ? [[workflow, this.stateMachineArn(workflow)] as const]
      : Object.entries(this.stateMachines);
    for (const [name, machine] of machines) {
      try {
        const described = await this.client.send(
          new DescribeExecutionCommand({ executionArn: executionArn(machine, runId) }),
        );
        return summaryOf(name, this.where, described);
      } catch (error) {
        if (isNamedError(error, 'ExecutionDoesNotExist', ExecutionDoesNotExist)) continue;
        throw awsSetupErrorOf(error);
      }
    }
    return undefined;
  }

  /**
   * Reads the history: the first call pages forward from the first event; later calls page newest
   * first only until the events already read, so a run of hours costs one page per poll.
   */
  events(run: RunSummary): RunEventReader {
    const reader = new HistoryReader();
    const executionArn = run.executionArn ?? '';
    const client = this.client;
    const all: TraceEvent[] = [];
    let first = true;
    return {
      all,
      trace: (summary) => {
        const trace = reader.trace(summary.runId);
        return trace;
      },
      async next() {
        const fresh: HistoryEvent[] = [];
        if (first) {
          let nextToken: string | undefined;
          do {
            const page = await aws(() =>
              client.send(
                new GetExecutionHistoryCommand({
                  executionArn,
                  maxResults: HISTORY_PAGE,
                  includeExecutionData: true,
                  ...(nextToken ? { nextToken } : {}),
                }),
              ),
            );
            fresh.push(...(page.events ?? []));
            nextToken = page.nextToken;
          } while (nextToken);
          first = false;
        } else {
          const newer: HistoryEvent[] = [];
          let nextToken: string | undefined;
          let reachedRead = false;
          do {
            const page = await aws(() =>
              client.send(
                new GetExecutionHistoryCommand({
                  executionArn,
                  maxResults: HISTORY_PAGE,
                  reverseOrder: true,
                  includeExecutionData: true,
                  ...(nextToken ? { nextToken } : {}),
                }),
              ),
            );
            for (const event of page.events ?? []) {
              if ((event.id ?? 0) <= reader.lastEventId) {
                reachedRead = true;
                break;
              }
              newer.push(event);
            }
            nextToken = page.nextToken;
          } while (nextToken && !reachedRead);
          fresh.push(...newer.reverse());
        }
        fresh.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
        const events = reader.read(fresh);
        if (reader.ended) events.push(...reader.flush());
        all.push(...events);
        return { events, ended: reader.ended };
      },
    };
  }
}

/**
 * The Step Functions client of the CLI, in the region the stages are deployed to
 * (`STEPOPS_REGION`, as the stacks use it), with the credentials of the environment.
 *
 * @example
 * const client = sfnClient();
 */
export function sfnClient(env: NodeJS.ProcessEnv = process.env): SFNClient {
  return new SFNClient({ region: stageRegion(env) });
}
