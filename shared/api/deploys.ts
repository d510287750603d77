/**
 * The deploy API: `POST /deploys` (GitHub webhook or bearer token) starts the deploy workflow once
 * per delivery or idempotency key; `GET /deploys/{id}` tells how it is going. The handlers in
 * `functions/start-deploy` and `functions/get-deploy` only wire these to their clients.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  paginateListExecutions,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Target } from '../config/schema.ts';
import { isNamedError } from '../errors.ts';
import { verifyBearerToken, verifyGithubSignature } from './auth.ts';
import { ApiError, badRequest, conflict, notFound, unauthorized } from './errors.ts';
import {
  consoleUrl,
  type DeployStatus,
  deployStatus,
  EXECUTION_NAME_PATTERN,
  executionArn,
  executionName,
  validateIdempotencyKey,
} from './execution.ts';
import { header, json, parseJsonBody, rawBody, toResponse } from './http.ts';
import type { LeaseReader } from './leases.ts';
import { type DeployRequest, mapPushEvent, parseDeployRequest, pushedCommitOf } from './request.ts';

/** Where the API's secrets live: SSM parameter names (never the values). */
export interface ApiSecretNames {
  /** SecureString: the secret of the GitHub webhook. */
  githubWebhookSecret: string;
  /** String or SecureString: the hex SHA-256 of the API token. */
  apiTokenHash: string;
}

/** The structured logger the API writes to (Powertools' Logger). */
export type ApiLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

/** Everything the API needs from the outside world. */
export interface DeployApiDeps {
  sfn: SFNClient;
  stateMachineArn: string;
  secrets: { get(name: string): Promise<string> };
  secretNames: ApiSecretNames;
  leases: LeaseReader;
  /** Finds a target by name; throws `UnknownTargetError` when there is none. */
  findTarget(name: string): Target;
  /** Every target a push can map to. */
  listTargets(): Target[];
  /** The targets this stage deploys (all when omitted). */
  stageTargets?: readonly string[];
  logger: ApiLogger;
  /** Idempotency key of a request that brought none. */
  randomKey?: () => string;
  /** The clock, in epoch milliseconds (`Date.now` by default). */
  now?: () => number;
}

/** What starting a deploy needs (the CLI starts deploys through the same checks as the API). */
export type StartDeps = Pick<
  DeployApiDeps,
  'sfn' | 'stateMachineArn' | 'leases' | 'findTarget' | 'stageTargets' | 'logger' | 'now'
>;

/**
 * How long a pushed commit counts as deployed: a push of a commit that a run started less than
 * this long ago (still running, or succeeded) is answered as a replay of that run. Long enough for
 * the pushes one `git push --follow-tags` makes (the branch and the tag, same commit), short enough
 * that the same commit pushed again later (after a rollback, say) deploys again.
 */
export const RECENT_PUSH_SECONDS = 3600;

/**
 * What the deploy workflow receives as its execution input (`deployRequestSchema` of
 * `shared/deploy/contracts.ts`); the run id is the execution name.
 */
export interface DeployExecutionInput {
  target: string;
  ref: string;
  reason?: string;
  /** `github:<sender>` for a push, `api` for a token. */
  requestedBy: string;
}

/** Who asked for a deploy and under which idempotency key. */
export interface Caller {
  source: 'github' | 'key' | 'random';
  key: string;
  requestedBy: string;
}

/**
 * Resolves a deploy request to a deployable target: it must exist, declare a deploy and run on EC2.
 *
 * @throws ApiError 404 for an unknown target, 400 for one without deploy or with local hosts
 */
export function deployableTarget(
  deps: Pick<DeployApiDeps, 'findTarget' | 'stageTargets'>,
  name: string,
): Target {
  let target: Target;
  try {
    target = deps.findTarget(name);
  } catch (error) {
    if ((error as { name?: unknown }).name === 'UnknownTargetError') {
      throw notFound('UnknownTarget', `unknown target "${name}"`, 'target');
    }
    throw error;
  }
  if (target.hosts.type === 'local') {
    throw badRequest(
      'LocalTarget',
      `target "${name}" runs on local hosts: run it with the local engine (stepops deploy ${name}), not through the AWS API`,
      'target',
    );
  }
  if (!target.deploy) throw badRequest('NoDeploy', `target "${name}" declares no deploy`, 'target');
  if (deps.stageTargets && !deps.stageTargets.includes(name)) {
    throw notFound('UnknownTarget', `target "${name}" is not deployed by this stage`, 'target');
  }
  return target;
}

async function describe(
  deps: Pick<DeployApiDeps, 'sfn'>,
  arn: string,
): Promise<DescribeExecutionCommandOutput | undefined> {
  try {
    return await deps.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
  } catch (error) {
    if (isNamedError(error, 'ExecutionDoesNotExist', ExecutionDoesNotExist)) return undefined;
    throw error;
  }
}

/** The answer for a request whose execution already exists: the same run, or 409 if it was another deploy. */
function replay(
  existing: DescribeExecutionCommandOutput,
  input: DeployExecutionInput,
): APIGatewayProxyStructuredResultV2 {
  let previous: Partial<DeployExecutionInput> = {};
  try {
    previous = JSON.parse(existing.input ?? '{}') as Partial<DeployExecutionInput>;
  } catch {
    // An unreadable input is another deploy's.
  }
  if (previous.target !== input.target || previous.ref !== input.ref) {
    throw conflict(
      'IdempotencyKeyReused',
      'this delivery or Idempotency-Key already started a deploy of another target or ref',
    );
  }
  const arn = existing.executionArn!;
  return json(202, {
    id: arn.split(':').pop(),
    executionArn: arn,
    consoleUrl: consoleUrl(arn),
    replayed: true,
  });
}

/**
 * The run of `target` started in the last {@link RECENT_PUSH_SECONDS} for a push of `commit` that
 * is running or succeeded. `ListExecutions` answers newest first, so paging stops at the first
 * execution older than the window.
 */
async function recentDeployOfCommit(
  deps: StartDeps,
  target: string,
  commit: string,
): Promise<DescribeExecutionCommandOutput | undefined> {
  const own = new RegExp(`^${target}-[0-9a-f]{16}$`);
  const since = (deps.now ?? Date.now)() - RECENT_PUSH_SECONDS * 1000;
  for await (const page of paginateListExecutions(
    { client: deps.sfn },
    { stateMachineArn: deps.stateMachineArn },
  )) {
    for (const execution of page.executions ?? []) {
      if (execution.startDate && execution.startDate.getTime() < since) return undefined;
      if (!own.test(execution.name ?? '') || !execution.executionArn) continue;
      if (execution.status !== 'RUNNING' && execution.status !== 'SUCCEEDED') continue;
      const described = await describe(deps, execution.executionArn);
      if (!described) continue;
      let input: Partial<DeployExecutionInput> = {};
      try {
        input = JSON.parse(described.input ?? '{}') as Partial<DeployExecutionInput>;
      } catch {
        continue;
      }
      if (input.requestedBy?.startsWith('github') && pushedCommitOf(input.reason) === commit)
        return described;
    }
  }
  return undefined;
}

async function runningDeployOf(
  deps: Pick<DeployApiDeps, 'sfn' | 'stateMachineArn'>,
  target: string,
): Promise<string | undefined> {
  const own = new RegExp(`^${target}-[0-9a-f]{16}$`);
  for await (const page of paginateListExecutions(
    { client: deps.sfn },
    { stateMachineArn: deps.stateMachineArn, statusFilter: 'RUNNING' },
  )) {
    const found = page.executions?.find((e) => own.test(e.name ?? ''));
    if (found) return found.name;
  }
  return undefined;
}

/**
 * Starts a deploy, once: checks the target's lease and running executions, then `StartExecution`
 * under the idempotent name. A replayed request answers the execution it started the first time;
 * a push of a commit that a recent run deployed ({@link RECENT_PUSH_SECONDS}) answers that run.
 *
 * @returns 202 `{ executionArn, consoleUrl }`
 * @throws ApiError 409 when the target is locked or a deploy of it is running
 */
export async function startDeployExecution(
  deps: StartDeps,
  request: DeployRequest,
  caller: Caller,
  push: { commit?: string } = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  deployableTarget(deps, request.target);
  const name = executionName(request.target, caller.source, caller.key);
  const arn = executionArn(deps.stateMachineArn, name);
  const input: DeployExecutionInput = {
    target: request.target,
    ref: request.ref,
    ...(request.reason !== undefined ? { reason: request.reason } : {}),
    requestedBy: caller.requestedBy,
  };
  const log = { target: request.target, ref: request.ref, execution: name, source: caller.source };

  const existing = await describe(deps, arn);
  if (existing) {
    deps.logger.info('deploy request replayed', log);
    return replay(existing, input);
  }
  if (push.commit) {
    const recent = await recentDeployOfCommit(deps, request.target, push.commit);
    if (recent?.executionArn) {
      const id = recent.executionArn.split(':').pop();
      deps.logger.info('pushed commit already deployed', { ...log, commit: push.commit, by: id });
      return json(202, {
        id,
        executionArn: recent.executionArn,
        consoleUrl: consoleUrl(recent.executionArn),
        replayed: true,
        replayedBecause: `commit ${push.commit} was deployed by run ${id} less than ${RECENT_PUSH_SECONDS / 60} minutes ago`,
      });
    }
  }
  const lease = await deps.leases.holder(request.target);
  if (lease) {
    deps.logger.info('target locked', { ...log, heldBy: lease.owner });
    throw conflict(
      'TargetLocked',
      `target "${request.target}" is locked by run ${lease.owner} until ${new Date(lease.expiresAt * 1000).toISOString()}`,
    );
  }
  const running = await runningDeployOf(deps, request.target);
  if (running) {
    deps.logger.info('deploy already running', { ...log, running });
    throw conflict('DeployRunning', `a deploy of "${request.target}" is already running: ${running}`);
  }
  try {
    const started = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deps.stateMachineArn,
        name,
        input: JSON.stringify(input),
      }),
    );
    const startedArn = started.executionArn ?? arn;
    deps.logger.info('deploy started', log);
    return json(202, { id: name, executionArn: startedArn, consoleUrl: consoleUrl(startedArn) });
  } catch (error) {
    if (!isNamedError(error, 'ExecutionAlreadyExists', ExecutionAlreadyExists)) throw error;
    const raced = await describe(deps, arn);
    if (!raced) throw error;
    deps.logger.info('deploy request replayed', log);
    return replay(raced, input);
  }
}

/**
 * `POST /deploys`. A request with `X-Hub-Signature-256` is a GitHub webhook (verified over the raw
 * body; `ping` answers 200, `push` deploys its tag or default branch, keyed by `X-GitHub-Delivery`);
 * otherwise `Authorization: Bearer <token>` is required, with a `{ target, ref, reason? }` body and
 * an optional `Idempotency-Key`. Errors answer `{ error: { code, message, field? } }` and start nothing.
 *
 * @example
 * const response = await handleStartDeploy(event, deps); // { statusCode: 202, body: '{"executionArn":…}' }
 */
export async function handleStartDeploy(
  event: APIGatewayProxyEventV2,
  deps: DeployApiDeps,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    const signature = header(event, 'x-hub-signature-256');
    if (signature !== undefined) return await handleWebhook(event, signature, deps);

    const authorization = header(event, 'authorization');
    if (authorization === undefined) throw unauthorized('expected a GitHub signature or a bearer token');
    verifyBearerToken(authorization, await deps.secrets.get(deps.secretNames.apiTokenHash));
    const idempotencyKey = header(event, 'idempotency-key');
    const request = parseDeployRequest(parseJsonBody(rawBody(event), header(event, 'content-type')));
    const caller: Caller =
      idempotencyKey !== undefined
        ? { source: 'key', key: validateIdempotencyKey(idempotencyKey), requestedBy: 'api' }
        : { source: 'random', key: (deps.randomKey ?? randomUUID)(), requestedBy: 'api' };
    return await startDeployExecution(deps, request, caller);
  } catch (error) {
    return answerError(error, deps);
  }
}

async function handleWebhook(
  event: APIGatewayProxyEventV2,
  signature: string,
  deps: DeployApiDeps,
): Promise<APIGatewayProxyStructuredResultV2> {
  const secret = await deps.secrets.get(deps.secretNames.githubWebhookSecret);
  const body =
    event.body === undefined || event.body === null
      ? Buffer.alloc(0)
      : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  verifyGithubSignature(secret, body, signature);

  const kind = header(event, 'x-github-event');
  const delivery = header(event, 'x-github-delivery');
  if (kind === 'ping') {
    deps.logger.info('github ping', { delivery });
    return json(200, { ok: true });
  }
  if (kind !== 'push') {
    deps.logger.info('github event ignored', { event: kind, delivery });
    return json(200, { ignored: `GitHub event "${String(kind).slice(0, 50)}" does not deploy` });
  }
  if (delivery === undefined || !/^[A-Za-z0-9-]{1,100}$/.test(delivery)) {
    throw badRequest('InvalidRequest', 'X-GitHub-Delivery: expected the delivery id', 'X-GitHub-Delivery');
  }
  const decision = mapPushEvent(
    parseJsonBody(rawBody(event), header(event, 'content-type')),
    deps
      .listTargets()
      .filter((t) => t.hosts.type !== 'local' && (!deps.stageTargets || deps.stageTargets.includes(t.name))),
  );
  if (decision.action === 'ignore') {
    deps.logger.info('push ignored', { delivery, reason: decision.reason });
    return json(200, { ignored: decision.reason });
  }
  return startDeployExecution(
    deps,
    decision.request,
    {
      source: 'github',
      key: delivery,
      requestedBy: decision.sender ? `github:${decision.sender}` : 'github',
    },
    decision.commit ? { commit: decision.commit } : {},
  );
}

function answerError(error: unknown, deps: Pick<DeployApiDeps, 'logger'>): APIGatewayProxyStructuredResultV2 {
  if (error instanceof ApiError) {
    deps.logger.info('request refused', { status: error.status, code: error.code, field: error.field });
  } else {
    // The error of an SDK call or a bug: its name and message, never the request.
    deps.logger.error('request failed', {
      error: { name: (error as Error)?.name, message: (error as Error)?.message },
    });
  }
  return toResponse(error);
}

/**
 * `GET /deploys/{id}` (bearer token): the status of a deploy, its current or failed state, the error
 * and the timestamps.
 *
 * @returns 200 with a {@link DeployStatus}, 404 when there is no such execution
 */
export async function handleGetDeploy(
  event: APIGatewayProxyEventV2,
  deps: Pick<DeployApiDeps, 'sfn' | 'stateMachineArn' | 'secrets' | 'secretNames' | 'logger'>,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    verifyBearerToken(header(event, 'authorization'), await deps.secrets.get(deps.secretNames.apiTokenHash));
    const id = event.pathParameters?.id ?? '';
    if (!EXECUTION_NAME_PATTERN.test(id)) {
      throw badRequest('InvalidRequest', 'id: expected an execution name as returned by POST /deploys', 'id');
    }
    const arn = executionArn(deps.stateMachineArn, id);
    let execution: DescribeExecutionCommandOutput;
    try {
      execution = await deps.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    } catch (error) {
      if (isNamedError(error, 'ExecutionDoesNotExist', ExecutionDoesNotExist)) {
        throw notFound('UnknownExecution', `no deploy "${id}"`, 'id');
      }
      throw error;
    }
    const history = await deps.sfn.send(
      new GetExecutionHistoryCommand({ executionArn: arn, reverseOrder: true, maxResults: 100 }),
    );
    const status: DeployStatus = deployStatus(id, execution, history.events ?? []);
    return json(200, status);
  } catch (error) {
    return answerError(error, deps);
  }
}
