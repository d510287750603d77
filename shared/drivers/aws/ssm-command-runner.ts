/**
 * SSM command runner: runs a script on EC2 instances with Run Command (`AWS-RunShellScript`) and
 * reads each instance's invocation without waiting for it.
 *
 * IAM: `ssm:SendCommand` (document `AWS-RunShellScript` and the target instances),
 * `ssm:GetCommandInvocation`.
 */
import {
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  type SendCommandCommandInput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { combineOutput } from '../output.ts';
import type {
  CommandHandle,
  CommandRequest,
  CommandRunner,
  HostRef,
  InvocationResult,
  InvocationState,
} from '../ports.ts';
import { ssmClient } from './clients.ts';

/** The SSM document every stepops command runs with. */
export const RUN_SHELL_SCRIPT = 'AWS-RunShellScript';

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
    default:
      // Pending, Delayed, or a status SSM has added since: not finished.
      return 'pending';
  }
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
      TimeoutSeconds: Math.min(2_592_000, Math.max(30, this.#deliveryTimeout)),
      Comment: request.comment.slice(0, 100),
    };
    if (request.maxConcurrency !== undefined) input.MaxConcurrency = request.maxConcurrency;
    if (request.maxErrors !== undefined) input.MaxErrors = request.maxErrors;
    if (this.#logGroupName) {
      input.CloudWatchOutputConfig = {
        CloudWatchLogGroupName: this.#logGroupName,
        CloudWatchOutputEnabled: true,
      };
    }
    const output = await this.#client(region).send(new SendCommandCommand(input));
    const commandId = output.Command?.CommandId;
    if (!commandId) throw new Error('SSM SendCommand returned no command id');
    return { commandId, hosts: request.hosts };
  }

  async status(handle: CommandHandle): Promise<InvocationResult[]> {
    const { region } = ec2Hosts(handle.hosts);
    const client = this.#client(region);
    return Promise.all(
      handle.hosts.map(async (host): Promise<InvocationResult> => {
        let invocation: GetCommandInvocationCommandOutput;
        try {
          invocation = await client.send(
            new GetCommandInvocationCommand({ CommandId: handle.commandId, InstanceId: host.id }),
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
      }),
    );
  }
}
