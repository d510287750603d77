/**
 * `stepops logs <run> [--stage S | --local] [--lines N] [--json]`: a run's timeline and, for each
 * command it sent (deploy batches, rollback), the hosts and the tail of each host's output, read
 * through the target's command runner (SSM `GetCommandInvocation` for EC2 hosts, and CloudWatch
 * Logs when the stage sends command output there; the local runner's logs for local hosts).
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { findTarget } from '../../shared/config/registry.ts';
import type { CommandSent, CommandStatus } from '../../shared/deploy/contracts.ts';
import { commandRunnerFor } from '../../shared/drivers/commands.ts';
import type { CommandRunner, HostRef, InvocationResult } from '../../shared/drivers/ports.ts';
import { formatTimeline } from '../../shared/engine/trace.ts';
import { EXIT, indent, type Output, stdio, UsageError } from '../output.ts';
import { cloudWatchTail } from '../runs/command-logs.ts';
import { printOutcome } from '../runs/follow.ts';
import { UnknownRunError } from '../runs/model.ts';
import { runSourceFor, type SourceDeps, type WhereOptions } from '../runs/source.ts';

/** One command a run sent, with what became of it on each host. */
export interface CommandLog {
  /** The state that sent it (`SendDeployCommand`, `SendRollbackCommand`). */
  state: string;
  /** The batch (Map iteration) it belongs to. */
  batch?: number;
  commandId: string;
  phase: string;
  hosts: { id: string; state: string; exitCode?: number; outputTail: string }[];
}

/** Options of {@link logs}. */
export interface LogsOptions extends WhereOptions {
  lines?: string | number;
  json?: boolean;
}

/** What `logs` needs besides the options. */
export interface LogsDeps extends SourceDeps {
  output?: Output;
  /** The command runner of a target (default: the target's own, as the run used it). */
  runnerFor?: (target: string) => CommandRunner;
  /** CloudWatch Logs, for the end of EC2 output when `STEPOPS_COMMAND_LOG_GROUP` names the group. */
  logs?: CloudWatchLogsClient;
}

function lastLines(text: string, lines: number): string {
  const all = text.replace(/\n+$/, '').split('\n');
  return all.slice(-lines).join('\n');
}

/**
 * The commands a run sent, from its events: each send step's `CommandSent` and the last status its
 * poll step read.
 *
 * @example
 * commandsOf(events) // [{ state: 'SendDeployCommand', batch: 0, commandId: 'c-1', … }]
 */
export function commandsOf(
  events: readonly { kind: string; state?: string; iteration?: number; output?: unknown }[],
): { state: string; batch?: number; sent: CommandSent; status?: CommandStatus }[] {
  const found: { state: string; batch?: number; sent: CommandSent; status?: CommandStatus }[] = [];
  for (const event of events) {
    if (event.kind !== 'state-exited' || typeof event.output !== 'object' || event.output === null) continue;
    const output = event.output as {
      command?: CommandSent;
      commandStatus?: CommandStatus;
      rollbackCommand?: CommandSent;
      rollbackStatus?: CommandStatus;
    };
    if (event.state === 'SendDeployCommand' && output.command?.commandId) {
      found.push({
        state: event.state,
        ...(event.iteration !== undefined ? { batch: event.iteration } : {}),
        sent: output.command,
      });
    } else if (event.state === 'SendRollbackCommand' && output.rollbackCommand?.commandId) {
      found.push({ state: event.state, sent: output.rollbackCommand });
    } else if (event.state === 'WaitForDeploy' && output.commandStatus) {
      const sent = [...found].reverse().find((c) => c.sent.commandId === output.commandStatus?.commandId);
      if (sent) sent.status = output.commandStatus;
    } else if (event.state === 'WaitForRollback' && output.rollbackStatus) {
      const sent = [...found].reverse().find((c) => c.sent.commandId === output.rollbackStatus?.commandId);
      if (sent) sent.status = output.rollbackStatus;
    }
  }
  return found;
}

/**
 * Prints a run's timeline and its commands' output per host.
 *
 * @example
 * process.exitCode = await logs('zmanim-3c1f0a9b8e7d6c5b', { stage: 'prod' });
 * @returns the exit code
 */
export async function logs(runId: string, options: LogsOptions, deps: LogsDeps = {}): Promise<number> {
  const out = deps.output ?? stdio;
  const lines = options.lines === undefined ? 20 : Number(options.lines);
  if (!Number.isInteger(lines) || lines < 1 || lines > 10_000) {
    throw new UsageError(`--lines ${String(options.lines)}: expected a whole number from 1 to 10000`);
  }
  const source = await runSourceFor(options, deps);
  const run = await source.describe(runId);
  if (!run)
    throw new UnknownRunError(
      `no run "${runId}" ${source.where === 'local' ? 'recorded locally' : `on stage ${source.where}`}`,
    );
  const reader = source.events(run);
  await reader.next();
  const trace = reader.trace(run);

  const env = deps.env ?? process.env;
  const logGroup = source.where === 'local' ? undefined : env.STEPOPS_COMMAND_LOG_GROUP;
  const cloudWatch = logGroup ? (deps.logs ?? new CloudWatchLogsClient({})) : undefined;
  const commands: CommandLog[] = [];
  const runner = run.target
    ? (deps.runnerFor ?? ((t: string) => commandRunnerFor(findTarget(t))))(run.target)
    : undefined;
  for (const command of commandsOf(reader.all)) {
    let results: InvocationResult[] = [];
    let problem: string | undefined;
    if (runner) {
      try {
        results = await runner.status({
          commandId: command.sent.commandId,
          hosts: command.sent.hosts as HostRef[],
        });
      } catch (error) {
        problem = (error as Error).message ?? String(error);
      }
    }
    const hosts: CommandLog['hosts'] = [];
    for (const host of command.sent.hosts) {
      const result = results.find((r) => r.hostId === host.id);
      const failure = command.status?.failures.find((f) => f.hostId === host.id);
      // The true end of the output: CloudWatch Logs when the stage sends it there (SSM keeps the head).
      const fromCloudWatch =
        cloudWatch && logGroup && host.kind === 'ec2'
          ? await cloudWatchTail(cloudWatch, logGroup, command.sent.commandId, host.id, lines).catch(
              () => undefined,
            )
          : undefined;
      const outputTail =
        fromCloudWatch ||
        result?.outputTail ||
        failure?.outputTail ||
        (problem ? `(output not available: ${problem})` : '');
      const state =
        result?.state ?? failure?.state ?? (command.status?.status === 'succeeded' ? 'succeeded' : 'unknown');
      const exitCode = result?.exitCode ?? failure?.exitCode;
      hosts.push({
        id: host.id,
        state,
        ...(exitCode !== undefined ? { exitCode } : {}),
        outputTail: lastLines(outputTail, lines),
      });
    }
    commands.push({
      state: command.state,
      ...(command.batch !== undefined ? { batch: command.batch } : {}),
      commandId: command.sent.commandId,
      phase: command.sent.phase,
      hosts,
    });
  }

  if (options.json) {
    out.out(JSON.stringify({ run, steps: trace.steps, commands }, null, 2));
    return EXIT.ok;
  }
  out.out(
    `${run.workflow} ${run.runId}${run.target ? ` of ${run.target}` : ''}${run.ref ? ` at ${run.ref}` : ''} (${source.where === 'local' ? 'local' : `stage ${source.where}`})`,
  );
  out.out(`\ntimeline\n${indent(formatTimeline(trace))}`);
  if (run.status !== 'RUNNING') printOutcome(run, out);
  if (commands.length === 0) out.out('\nno command was sent');
  for (const command of commands) {
    const batch = command.batch !== undefined ? ` batch ${command.batch + 1}` : '';
    out.out(`\n${command.phase}${batch}: command ${command.commandId} (${command.state})`);
    for (const host of command.hosts) {
      out.out(`  ${host.id}  ${host.state}${host.exitCode !== undefined ? ` (exit ${host.exitCode})` : ''}`);
      if (host.outputTail.trim()) out.out(indent(host.outputTail, 4));
    }
  }
  return EXIT.ok;
}
