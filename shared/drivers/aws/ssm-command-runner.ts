/**
 * SSM command runner: runs a script on EC2 instances with Run Command (`AWS-RunShellScript`) and
 * reads each instance's invocation without waiting for it.
 *
 * `SendCommand` takes at most 50 instance ids: more hosts are sent in several commands, one per 50,
 * whose handle reads as one. An idempotent send marks each command's comment with a token of its
 * run, phase, batch and part, and first looks for a command carrying that token (`ListCommands`),
 * so a retried Lambda that already sent (and was killed before it answered) sends nothing again.
 *
 * IAM: `ssm:SendCommand` (document `AWS-RunShellScript` and the target instances),
 * `ssm:ListCommands` (a retried send; the status of a command of several hosts),
 * `ssm:GetCommandInvocation`.
 */
import { createHash } from 'node:crypto';
import {
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  ListCommandsCommand,
  SendCommandCommand,
  type SendCommandCommandInput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { UnknownCommandStatusError } from '../../errors.ts';
import { combineOutput } from '../output.ts';
import type {
  CommandHandle,
  CommandRequest,
  CommandRunner,
  HostRef,
  InvocationResult,
  InvocationState,
} from '../ports.ts';
import { SSM_STATUS_PACE_MS } from '../ports.ts';
import { ssmClient } from './ssm-client.ts';

/** The SSM document every stepops command runs with. */
export const RUN_SHELL_SCRIPT = 'AWS-RunShellScript';
/** Instance ids one `SendCommand` call accepts. */
export const SEND_COMMAND_MAX_INSTANCES = 50;
/** Characters SSM accepts in a command's comment. */
const COMMENT_MAX = 100;
/** `GetCommandInvocation` calls one status read makes at once (SSM throttles bursts). */
export const STATUS_READ_CONCURRENCY = 5;
export { SSM_STATUS_PACE_MS };

/**
 * A time as SSM's `ListCommands` filters take it: `2021-07-07T00:00:00Z`, whole seconds (CommandFilter,
 * "value": InvokedAfter/InvokedBefore), floored so that `InvokedAfter` still includes the instant.
 *
 * @example
 * commandFilterTime('2026-03-01T02:00:00.750Z') // '2026-03-01T02:00:00Z'
 */
export function commandFilterTime(iso: string): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) throw new Error(`"${iso}" is not a time`);
  return `${new Date(at).toISOString().slice(0, 19)}Z`;
}

function isThrottled(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'ThrottlingException' || e.$metadata?.httpStatusCode === 429;
}

/** Runs `fn` over `items`, at most `limit` at once, keeping their order. */
async function boundedMap<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next;
      next += 1;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A host whose status read SSM throttled: no news, so still running as far as anyone knows. */
function throttledRead(host: HostRef): InvocationResult {
  return {
    hostId: host.id,
    state: 'running',
    outputTail: 'SSM throttled this status read; it is read again',
  };
}

export interface SsmCommandRunnerOptions {
  /** Client for a region; the cached client by default. */
  client?: (region: string) => SSMClient;
  /** CloudWatch Logs group receiving the full output; no CloudWatch output when omitted. */
  logGroupName?: string;
  /** Seconds SSM keeps trying to deliver the command to an instance that is not reachable (default 600). */
  deliveryTimeoutSeconds?: number;
}

/**
 * Maps an SSM invocation status to the runner's state.
 *
 * @example
 * invocationState('InProgress') // 'running'
 */
export function invocationState(status: string | undefined): InvocationState {
  switch (status) {
    case 'InProgress':
      return 'running';
    case 'Success':
      return 'succeeded';
    case 'Failed':
      return 'failed';
    case 'TimedOut':
      return 'timed-out';
    case 'Cancelled':
    case 'Cancelling':
      return 'cancelled';
    case 'Pending':
    case 'Delayed':
      // Not delivered yet (Delayed: SSM retries the delivery).
      return 'pending';
    default:
      // A status SSM has added since, or none: waiting on it could last forever.
      throw new UnknownCommandStatusError(
        `SSM reported the command status ${JSON.stringify(status ?? null)}, which stepops does not know; expected Pending, InProgress, Delayed, Success, Failed, TimedOut, Cancelled or Cancelling`,
      );
  }
}

/**
 * The token an idempotent command carries at the start of its comment: a hash of the key (run,
 * phase, batch) and the part (which 50 hosts), short enough to leave room for a readable comment.
 *
 * @example
 * commandToken('r1/deploy/0', 0) // 'stepops:5d1c2a0e9b7f3a64.0'
 */
export function commandToken(key: string, part: number): string {
  return `stepops:${createHash('sha256').update(key).digest('hex').slice(0, 16)}.${part}`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function ec2Hosts(hosts: HostRef[]): { region: string; ids: string[] } {
  if (hosts.length === 0) throw new Error('a command needs at least one host');
  const ids: string[] = [];
  let region: string | undefined;
  for (const host of hosts) {
    if (host.kind !== 'ec2') {
      throw new Error(`the SSM command runner runs scripts on ec2 hosts only, not on local host ${host.id}`);
    }
    if (region !== undefined && host.region !== region) {
      throw new Error(`one command cannot span regions (${region} and ${host.region})`);
    }
    region = host.region;
    ids.push(host.id);
  }
  return { region: region!, ids };
}

function isInvocationDoesNotExist(error: unknown): boolean {
  return (error as { name?: string }).name === 'InvocationDoesNotExist';
}

/**
 * Runs scripts on EC2 instances through SSM Run Command.
 *
 * @example
 * const runner = new SsmCommandRunner({ logGroupName: '/stepops/commands' });
 * const handle = await runner.send({ hosts, script, timeoutSeconds: 900, workingDirectory: '/opt/app', comment: 'deploy app v2', maxConcurrency: '1', maxErrors: '0' });
 * const results = await runner.status(handle);
 */
export class SsmCommandRunner implements CommandRunner {
  readonly statusPaceMs = SSM_STATUS_PACE_MS;
  readonly #client: (region: string) => SSMClient;
  readonly #logGroupName: string | undefined;
  readonly #deliveryTimeout: number;

  constructor(options: SsmCommandRunnerOptions = {}) {
    this.#client = options.client ?? ssmClient;
    this.#logGroupName = options.logGroupName;
    this.#deliveryTimeout = options.deliveryTimeoutSeconds ?? 600;
  }

  async send(request: CommandRequest): Promise<CommandHandle> {
    const { region, ids } = ec2Hosts(request.hosts);
    const client = this.#client(region);
    const parts = chunks(ids, SEND_COMMAND_MAX_INSTANCES);
    const { idempotency } = request;
    const tokens = parts.map((_, i) => (idempotency ? commandToken(idempotency.key, i) : undefined));
    const sent = idempotency ? await this.#sentBefore(client, idempotency.since, tokens) : new Map();
    const commandIds: string[] = [];
    for (const [i, part] of parts.entries()) {
      const token = tokens[i];
      const found = token === undefined ? undefined : sent.get(token);
      commandIds.push(found ?? (await this.#sendPart(client, request, part, token)));
    }
    const [commandId] = commandIds as [string, ...string[]];
    return { commandId, hosts: request.hosts, ...(commandIds.length > 1 ? { commandIds } : {}) };
  }

  /** The commands already sent with these tokens since `since` (a retried send), by token. */
  async #sentBefore(
    client: SSMClient,
    since: string,
    tokens: readonly (string | undefined)[],
  ): Promise<Map<string, string>> {
    const wanted = new Set(tokens.filter((t): t is string => t !== undefined));
    const found = new Map<string, string>();
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new ListCommandsCommand({
          Filters: [
            { key: 'DocumentName', value: RUN_SHELL_SCRIPT },
            { key: 'InvokedAfter', value: commandFilterTime(since) },
          ],
          MaxResults: 50,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      for (const command of page.Commands ?? []) {
        const token = command.Comment?.split(' ', 1)[0];
        if (token && wanted.has(token) && command.CommandId) found.set(token, command.CommandId);
      }
      nextToken = found.size < wanted.size ? page.NextToken : undefined;
    } while (nextToken);
    return found;
  }

  async #sendPart(
    client: SSMClient,
    request: CommandRequest,
    ids: string[],
    token: string | undefined,
  ): Promise<string> {
    const parameters: Record<string, string[]> = {
      commands: [request.script],
      // AWS-RunShellScript accepts 1 to 172800 seconds (48 hours).
      executionTimeout: [String(Math.min(172_800, Math.max(1, Math.trunc(request.timeoutSeconds))))],
    };
    if (request.workingDirectory) parameters.workingDirectory = [request.workingDirectory];
    const input: SendCommandCommandInput = {
      DocumentName: RUN_SHELL_SCRIPT,
      InstanceIds: ids,
      Parameters: parameters,
      TimeoutSeconds: this.deliveryTimeoutSeconds,
      Comment: (token ? `${token} ${request.comment}` : request.comment).slice(0, COMMENT_MAX),
    };
    if (request.maxConcurrency !== undefined) {
      const count = Number(request.maxConcurrency);
      // A count beyond this part's hosts means all of them; a percentage applies as it is.
      input.MaxConcurrency = Number.isInteger(count)
        ? String(Math.min(count, ids.length))
        : request.maxConcurrency;
    }
    if (request.maxErrors !== undefined) input.MaxErrors = request.maxErrors;
    if (this.#logGroupName) {
      input.CloudWatchOutputConfig = {
        CloudWatchLogGroupName: this.#logGroupName,
        CloudWatchOutputEnabled: true,
      };
    }
    const output = await client.send(new SendCommandCommand(input));
    const commandId = output.Command?.CommandId;
    if (!commandId) throw new Error('SSM SendCommand returned no command id');
    return commandId;
  }

  /** Seconds SSM keeps trying to deliver a command (`TimeoutSeconds` of SendCommand, 30 s to 30 days). */
  get deliveryTimeoutSeconds(): number {
    return Math.min(2_592_000, Math.max(30, this.#deliveryTimeout));
  }

  /**
   * One status read of every host. A command of several hosts is first read as a whole
   * (`ListCommands` by id: one call, whatever its host count); its hosts are read one by one
   * (`GetCommandInvocation`, {@link STATUS_READ_CONCURRENCY} at once) only once it has finished on
   * all of them, so a long command of 50 hosts costs one status call per read, not 50. A read SSM
   * throttles is no news (the host still counts as running), never a failure.
   */
  async status(handle: CommandHandle): Promise<InvocationResult[]> {
    const { region } = ec2Hosts(handle.hosts);
    const client = this.#client(region);
    const commandIds = handle.commandIds ?? [handle.commandId];
    const parts = chunks(handle.hosts, SEND_COMMAND_MAX_INSTANCES);
    if (parts.length > commandIds.length) {
      throw new Error(
        `the command handle names ${commandIds.length} command(s) for ${handle.hosts.length} hosts; ${parts.length} are needed`,
      );
    }
    const results = await Promise.all(
      parts.map(async (hosts, i): Promise<InvocationResult[]> => {
        const commandId = commandIds[i] as string;
        if (hosts.length > 1) {
          let whole: 'pending' | 'running' | 'finished';
          try {
            whole = await this.#commandState(client, commandId);
          } catch (error) {
            if (isThrottled(error)) return hosts.map(throttledRead);
            throw error;
          }
          if (whole !== 'finished') {
            return hosts.map((host) => ({ hostId: host.id, state: whole, outputTail: '' }));
          }
        }
        return boundedMap(hosts, STATUS_READ_CONCURRENCY, async (host) => {
          try {
            return await this.#invocation(client, commandId, host);
          } catch (error) {
            if (isThrottled(error)) return throttledRead(host);
            throw error;
          }
        });
      }),
    );
    return results.flat();
  }

  /** The state of a command as a whole: finished on every host, or still pending or running. */
  async #commandState(client: SSMClient, commandId: string): Promise<'pending' | 'running' | 'finished'> {
    const { Commands: [command] = [] } = await client.send(new ListCommandsCommand({ CommandId: commandId }));
    // Right after SendCommand the command may not be listed yet.
    if (!command) return 'pending';
    const { TargetCount: targets = 0, CompletedCount: completed = 0 } = command;
    if (targets > 0 && completed >= targets) return 'finished';
    switch (command.Status) {
      case 'Pending':
        return 'pending';
      case 'InProgress':
      case 'Cancelling':
        return 'running';
      case 'Success':
      case 'Failed':
      case 'TimedOut':
      case 'Cancelled':
        return 'finished';
      default:
        throw new UnknownCommandStatusError(
          `SSM reported the status ${JSON.stringify(command.Status ?? null)} for command ${commandId}, which stepops does not know; expected Pending, InProgress, Success, Failed, TimedOut, Cancelled or Cancelling`,
        );
    }
  }

  async #invocation(client: SSMClient, commandId: string, host: HostRef): Promise<InvocationResult> {
    let invocation: GetCommandInvocationCommandOutput;
    try {
      invocation = await client.send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: host.id }),
      );
    } catch (error) {
      // Right after SendCommand the invocation may not exist yet.
      if (isInvocationDoesNotExist(error)) return { hostId: host.id, state: 'pending', outputTail: '' };
      throw error;
    }
    const state = invocationState(invocation.Status);
    const result: InvocationResult = {
      hostId: host.id,
      state,
      outputTail: combineOutput(
        invocation.StandardOutputContent ?? '',
        invocation.StandardErrorContent ?? '',
      ),
    };
    const code = invocation.ResponseCode;
    if (code !== undefined && code >= 0 && state !== 'pending' && state !== 'running') {
      result.exitCode = code;
    }
    if (state === 'failed' || state === 'timed-out' || state === 'cancelled') {
      const details = invocation.StatusDetails;
      if (details && details !== invocation.Status && !result.outputTail) {
        result.outputTail = `SSM: ${details}`;
      }
    }
    return result;
  }
}
