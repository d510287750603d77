import type { Target } from '../../config/schema.ts';
import { InvalidInputError, LeaseLostError } from '../../errors.ts';
import { targetLeaseKey } from '../../lease-keys.ts';
import { batchLeaseSeconds, COMMAND_DELIVERY_MARGIN_SECONDS } from '../bounds.ts';
import type { CommandSent, SendCommandInput } from '../contracts.ts';
import type { DeployDeps } from '../deps.ts';
import { resolveCount } from '../plan.ts';
import { planFor } from './common.ts';

/** How far back a retried send looks for its command when the run's start is not known. */
const IDEMPOTENCY_WINDOW_MS = 3_600_000;

/**
 * The idempotency key of a command of a run: one per run, phase and batch.
 *
 * @example
 * commandKey({ runId: 'r1', phase: 'deploy', batchIndex: 0 }) // 'r1/deploy/0'
 */
export function commandKey(input: Pick<SendCommandInput, 'runId' | 'phase' | 'batchIndex'>): string {
  return `${input.runId}/${input.phase}/${input.batchIndex ?? 'all'}`;
}

/**
 * Checks that this run still holds the target's lease and renews it for what is left to do,
 * keeping what the lease says (the run's execution, which health asks about).
 *
 * @throws LeaseLostError when the lease expired or another run holds it
 */
async function renewLease(
  target: Target,
  runId: string,
  ttlSeconds: number,
  deps: DeployDeps,
): Promise<void> {
  const { leases } = deps.driversFor(target);
  const key = targetLeaseKey(target.name);
  const held = await leases.holder(key);
  const lost = (why: string) =>
    new LeaseLostError(
      `run ${runId} no longer holds the lease of target "${target.name}" (${why}); it stops before touching another host`,
    );
  if (held?.owner !== runId) {
    throw lost(held ? `run ${held.owner} holds it` : 'it expired or was released');
  }
  const renewed = await leases.acquire(key, runId, ttlSeconds, {
    execution: held.execution,
    maintenance: held.maintenance,
  });
  if (!renewed.acquired) throw lost(`run ${renewed.heldBy.owner} took it`);
}

/**
 * send-command: checks that this run still holds the target's lease (and renews it for the batch
 * and a rollback), then sends the deploy or rollback script of the target (rendered again from the
 * target file: a command never comes from the state) to the hosts; returns at once. The send is
 * idempotent per run, phase and batch: a retried invocation gets back the command the first one
 * sent.
 *
 * @throws LeaseLostError before sending anything when the run lost its lease
 * @example
 * await sendCommandStep({ target: 'demo', ref: 'v2', runId: 'r1', phase: 'deploy', hosts }, deps) // { commandId: '…', … }
 */
export async function sendCommandStep(input: SendCommandInput, deps: DeployDeps): Promise<CommandSent> {
  const runHosts = {
    ids: input.hosts.map((h) => h.id),
    first: input.hostOffset ?? 0,
    count: input.hostCount ?? input.hosts.length,
  };
  const { target, plan } = planFor(deps, input.target, input.ref, input.runId, runHosts);
  const deploy = input.phase === 'deploy';
  await renewLease(target, input.runId, batchLeaseSeconds(plan), deps);
  const batch = input.batchIndex === undefined ? '' : ` batch ${input.batchIndex + 1}`;
  const [script, timeoutSeconds] =
    input.phase === 'verify'
      ? [plan.verifyScript, plan.verifyTimeoutSeconds]
      : deploy
        ? [plan.deployScript, plan.deployTimeoutSeconds]
        : [plan.rollbackScript, plan.rollbackTimeoutSeconds];
  if (script === undefined || timeoutSeconds === undefined) {
    throw new InvalidInputError(`target "${target.name}" declares no ${input.phase} steps`);
  }
  const now = deps.now();
  const since =
    input.startedAt && !Number.isNaN(Date.parse(input.startedAt))
      ? new Date(Date.parse(input.startedAt)).toISOString()
      : new Date(now - IDEMPOTENCY_WINDOW_MS).toISOString();
  const handle = await deps.driversFor(target).commands.send({
    hosts: input.hosts,
    script,
    timeoutSeconds,
    ...(target.hosts.type === 'ec2' ? { workingDirectory: target.hosts.workingDirectory } : {}),
    comment: `stepops ${input.phase} ${target.name} ${input.ref}${batch} run ${input.runId}`.slice(0, 100),
    maxConcurrency: String(input.hosts.length),
    maxErrors: String(deploy ? resolveCount(input.maxErrors ?? 0, input.hosts.length, 0) : 0),
    idempotency: { key: commandKey(input), since },
  });
  return {
    commandId: handle.commandId,
    ...(handle.commandIds && handle.commandIds.length > 1 ? { commandIds: handle.commandIds } : {}),
    phase: input.phase,
    hosts: input.hosts,
    sentAt: new Date(now).toISOString(),
    deadline: new Date(now + (timeoutSeconds + COMMAND_DELIVERY_MARGIN_SECONDS) * 1000).toISOString(),
  };
}
