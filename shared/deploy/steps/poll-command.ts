import { tail } from '../../drivers/output.ts';
import type { InvocationResult } from '../../drivers/ports.ts';
import { InvalidInputError } from '../../errors.ts';
import { longPollBudget, nextWaitSeconds } from '../../polling.ts';
import {
  type CommandStatus,
  MAX_REPORTED_FAILURES,
  type PollCommandInput,
  STATE_OUTPUT_TAIL,
} from '../contracts.ts';
import type { DeployDeps } from '../deps.ts';
import { resolveCount } from '../plan.ts';
import { LONG_POLL_MAX_MS, LONG_POLL_SAFETY_MS, type RemainingTime } from './common.ts';

/** First and longest pause between two command status reads. */
export const COMMAND_POLL_FIRST_MS = 250;
export const COMMAND_POLL_MAX_MS = 500;
/** The longest pause between two reads of a runner that paces its reads (SSM: 2 s, then 4 s, then 5 s). */
export const PACED_COMMAND_POLL_MAX_MS = 5_000;

const FINAL_STATES = new Set(['succeeded', 'failed', 'timed-out', 'cancelled']);

/**
 * poll-command: reads the command's status until every host has finished or the long-poll budget
 * (at most {@link LONG_POLL_MAX_MS}, and {@link LONG_POLL_SAFETY_MS} before the invocation's own
 * timeout) is spent; then `running` (the workflow loops), `succeeded`, or `failed` when more hosts
 * failed than the batch allows (a rollback allows none).
 *
 * @example
 * await pollCommandStep({ target: 'demo', command, maxErrors: 0 }, deps, () => 60_000) // { status: 'succeeded', … }
 */
export async function pollCommandStep(
  input: PollCommandInput,
  deps: DeployDeps,
  remaining: RemainingTime,
): Promise<CommandStatus> {
  const target = deps.findTarget(input.target);
  const { commands } = deps.driversFor(target);
  const { command } = input;
  const total = command.hosts.length;
  const allowedErrors = command.phase !== 'deploy' ? 0 : resolveCount(input.maxErrors ?? 0, total, 0);
  const deadline = Date.parse(command.deadline);
  if (Number.isNaN(deadline))
    throw new InvalidInputError(`command.deadline "${command.deadline}" is not a time`);
  // A command running for minutes is read once per invocation; the workflow waits between reads.
  const sentAt = Date.parse(command.sentAt);
  const age = () => (Number.isNaN(sentAt) ? 0 : deps.now() - sentAt);
  const budgetEnd =
    deps.now() + longPollBudget(age(), Math.min(LONG_POLL_MAX_MS, remaining() - LONG_POLL_SAFETY_MS));
  // A runner whose service rations status reads (SSM) sets its pace: 2 s, growing to 5 s.
  const pace = commands.statusPaceMs;
  let pause = pace ?? COMMAND_POLL_FIRST_MS;
  for (let polls = 1; ; polls += 1) {
    const results = await commands.status({
      commandId: command.commandId,
      hosts: command.hosts,
      ...(command.commandIds ? { commandIds: command.commandIds } : {}),
    });
    const overdue = deps.now() > deadline;
    const done = results.filter((r) => FINAL_STATES.has(r.state));
    const failed: (Omit<InvocationResult, 'state'> & { state: string })[] = results.filter(
      (r) => r.state !== 'succeeded' && FINAL_STATES.has(r.state),
    );
    if (overdue) {
      for (const r of results) if (!FINAL_STATES.has(r.state)) failed.push(pastDeadline(r, command.deadline));
    }
    const finished = overdue || done.length >= total;
    if (finished || deps.now() + pause > budgetEnd) {
      const status = !finished ? 'running' : failed.length > allowedErrors ? 'failed' : 'succeeded';
      const waitSeconds = finished ? 0 : nextWaitSeconds(age(), deadline - deps.now());
      return {
        ...(waitSeconds > 0 ? { waitSeconds } : {}),
        status,
        phase: command.phase,
        commandId: command.commandId,
        total,
        done: overdue ? total : done.length,
        failedCount: failed.length,
        allowedErrors,
        failures: failed.slice(0, MAX_REPORTED_FAILURES).map((r) => ({
          hostId: r.hostId,
          state: r.state,
          ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
          outputTail: tail(r.outputTail, STATE_OUTPUT_TAIL),
        })),
        polls,
      };
    }
    await deps.sleep(pause);
    pause = Math.min(pace ? PACED_COMMAND_POLL_MAX_MS : COMMAND_POLL_MAX_MS, pause * 2);
  }
}

/** A host with no final status at the command's deadline, reported as failed. */
function pastDeadline(
  result: InvocationResult,
  deadline: string,
): Omit<InvocationResult, 'state'> & { state: 'deadline-exceeded' } {
  const last = result.state === 'pending' ? 'not delivered' : `still ${result.state}`;
  return {
    hostId: result.hostId,
    state: 'deadline-exceeded',
    outputTail: tail(
      `${result.outputTail}${result.outputTail && !result.outputTail.endsWith('\n') ? '\n' : ''}stepops: no final status by the command's deadline ${deadline} (${last}); giving up on this host`,
      STATE_OUTPUT_TAIL,
    ),
  };
}
