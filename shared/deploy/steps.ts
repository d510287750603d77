/**
 * The logic of each task of the deploy workflow, one function per Lambda. Handlers in
 * `functions/<name>/handler.ts` only parse the input and call these with the real dependencies.
 */
import { refuseUnfilledDeploy } from '../config/load.ts';
import type { Target } from '../config/schema.ts';
import { hostSelector } from '../drivers/index.ts';
import { tail } from '../drivers/output.ts';
import type { InvocationResult, Notification, ProbeResult, SnapshotService } from '../drivers/ports.ts';
import {
  InvalidInputError,
  LeaseLostError,
  NoHostsError,
  RunTooLongError,
  TargetLockedError,
} from '../errors.ts';
import { rejectionReason } from '../health/failure.ts';
import { probeRoundSeconds, runProbeRound } from '../health/round.ts';
import { longPollBudget, nextWaitSeconds } from '../polling.ts';
import type { RunHosts } from '../shell/script.ts';
import {
  ASSUMED_BATCHES_FOR_COUNT,
  batchLeaseSeconds,
  COMMAND_DELIVERY_MARGIN_SECONDS,
  LEASE_MARGIN_SECONDS,
  MAX_LEASE_SECONDS,
  runBoundSeconds,
} from './bounds.ts';
import {
  type AcquireLockInput,
  type BatchFailed,
  type CheckHealthInput,
  type CommandSent,
  type CommandStatus,
  type CreateSnapshotsInput,
  type DeployPlanSummary,
  type DescribeBatchFailureInput,
  deployRequestSchema,
  type GateState,
  INITIAL_GATE,
  INITIAL_TARGETS_WAIT,
  type LockInfo,
  MAX_REPORTED_FAILURES,
  type NotifyInput,
  type PlanDeployInput,
  type PlanRollbackInput,
  type PollCommandInput,
  type ProbeOutcome,
  type ReleaseLockInput,
  type ResolvedHosts,
  type ResolveHostsInput,
  type RollbackPlan,
  type RunOutcome,
  type SendCommandInput,
  type SnapshotsTaken,
  STATE_OUTPUT_TAIL,
} from './contracts.ts';
import type { DeployDeps } from './deps.ts';
import {
  type DeployRunState,
  describeBatch,
  describeBatchFailure,
  summarizeDeploy,
  touchedBatches,
} from './outcome.ts';
import { type DeployPlan, planDeploy, resolveCount, splitIntoBatches } from './plan.ts';
import { decidePreDeployPrune, PRE_DEPLOY_REASON } from './pre-deploy-retention.ts';

/** Longest a long-poll Lambda waits before it returns "still running": waiting is a bounded long-poll and a Choice loop. */
export const LONG_POLL_MAX_MS = 50_000;
/** Time a long-poll Lambda keeps in hand before its own timeout. */
export const LONG_POLL_SAFETY_MS = 10_000;
/** First and longest pause between two command status reads. */
export const COMMAND_POLL_FIRST_MS = 250;
export const COMMAND_POLL_MAX_MS = 500;
/** The longest pause between two reads of a runner that paces its reads (SSM: 2 s, then 4 s, then 5 s). */
export const PACED_COMMAND_POLL_MAX_MS = 5_000;
/** How far back a retried send looks for its command when the run's start is not known. */
const IDEMPOTENCY_WINDOW_MS = 3_600_000;

/** Remaining time of the invocation, in milliseconds (`context.getRemainingTimeInMillis`). */
export type RemainingTime = () => number;

/**
 * The lease key of a target: one run at a time acts on a target, whatever the workflow.
 *
 * @example
 * targetLeaseKey('demo') // 'target:demo'
 */
export function targetLeaseKey(target: string): string {
  return `target:${target}`;
}

function issuesText(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .map((i) => `${i.path.length ? `${i.path.map(String).join('.')}: ` : ''}${i.message}`)
    .join('; ');
}

function planFor(
  deps: DeployDeps,
  target: string,
  ref: string,
  runId: string,
  hosts?: RunHosts,
): { target: Target; plan: DeployPlan } {
  const found = deps.findTarget(target);
  return { target: found, plan: planDeploy(found, ref, runId, hosts) };
}

/**
 * Seconds the lease of a deploy lasts: its estimated longest run (every batch's script and gate, a
 * rollback and its gate) plus a margin, capped at {@link MAX_LEASE_SECONDS}, so that a run that
 * dies frees its target on its own.
 *
 * @example
 * leaseTtlSeconds(planDeploy(target, 'v2', 'r1')) // e.g. 1290
 */
export function leaseTtlSeconds(plan: DeployPlan): number {
  const size = plan.batchSize;
  const batches =
    typeof size === 'string'
      ? Math.ceil(100 / Math.max(1, Number.parseInt(size, 10)))
      : ASSUMED_BATCHES_FOR_COUNT;
  const lb = plan.loadBalancer
    ? plan.loadBalancer.drainTimeoutSeconds + plan.loadBalancer.healthyTimeoutSeconds
    : 0;
  const perBatch = plan.deployTimeoutSeconds + plan.healthGate.timeoutSeconds + lb;
  const rollback = plan.rollbackTimeoutSeconds + plan.healthGate.timeoutSeconds + lb;
  return Math.min(MAX_LEASE_SECONDS, batches * perBatch + rollback + LEASE_MARGIN_SECONDS);
}

/**
 * plan-deploy: validates the request (strictly: unknown fields, a bad target name or a ref a shell
 * could read as more than a ref are refused), loads the target and plans the deploy.
 *
 * @throws InvalidInputError (or UnknownTargetError, ConfigError) before anything touches a host
 * @example
 * planDeployStep({ input: { target: 'demo', ref: 'v2' }, runId: 'r1' }, deps).healthGate.probes // ['app-health']
 */
export function planDeployStep(input: PlanDeployInput, deps: DeployDeps): DeployPlanSummary {
  const request = deployRequestSchema.safeParse(input.input);
  if (!request.success) {
    throw new InvalidInputError(`invalid deploy request: ${issuesText(request.error.issues)}`);
  }
  const { target: name, ref, reason, requestedBy } = request.data;
  const { target, plan } = planFor(deps, name, ref, input.runId);
  // A marker never reaches AWS (an RDS snapshot of "<unfilled: …>"): refused before the lease.
  refuseUnfilledDeploy(target);
  const snapshot = plan.snapshot;
  return {
    target: target.name,
    ref: plan.ref,
    runId: plan.runId,
    ...(reason !== undefined ? { reason } : {}),
    ...(requestedBy !== undefined ? { requestedBy } : {}),
    batchSize: plan.batchSize,
    maxErrors: plan.maxErrors,
    snapshot: {
      enabled: snapshot.ebs || snapshot.rdsInstance !== undefined,
      ebs: snapshot.ebs,
      ...(snapshot.rdsInstance ? { rdsInstance: snapshot.rdsInstance } : {}),
    },
    healthGate: plan.healthGate,
    verify: plan.verifyScript !== undefined,
    loadBalancer: plan.loadBalancer !== undefined,
    deployTimeoutSeconds: plan.deployTimeoutSeconds,
    rollbackTimeoutSeconds: plan.rollbackTimeoutSeconds,
    lockTtlSeconds: leaseTtlSeconds(plan),
  };
}

/**
 * acquire-lock: takes the target's lease for this run.
 *
 * @throws TargetLockedError when another run holds it
 * @example
 * await acquireLockStep({ target: 'demo', runId: 'r1', ttlSeconds: 900 }, deps) // { key: 'target:demo', owner: 'r1', … }
 */
export async function acquireLockStep(input: AcquireLockInput, deps: DeployDeps): Promise<LockInfo> {
  const target = deps.findTarget(input.target);
  const key = targetLeaseKey(target.name);
  const result = await deps
    .driversFor(target)
    .leases.acquire(key, input.runId, input.ttlSeconds, input.maintenance);
  if (!result.acquired) {
    const until = new Date(result.heldBy.expiresAt * 1000).toISOString();
    throw new TargetLockedError(
      `target "${target.name}" is locked by run ${result.heldBy.owner} until ${until}; wait for it to finish or for the lock to expire`,
    );
  }
  return { key, owner: input.runId, expiresAt: Math.floor(deps.now() / 1000) + input.ttlSeconds };
}

/**
 * release-lock: releases the lease if this run still holds it (a no-op otherwise).
 *
 * @example
 * await releaseLockStep({ target: 'demo', runId: 'r1' }, deps) // { released: true }
 */
export async function releaseLockStep(
  input: ReleaseLockInput,
  deps: DeployDeps,
): Promise<{ released: true }> {
  const target = deps.findTarget(input.target);
  await deps.driversFor(target).leases.release(targetLeaseKey(target.name), input.runId);
  return { released: true };
}

/**
 * resolve-hosts: the target's hosts that can take commands now, split into batches.
 *
 * @throws NoHostsError when none is found; RunTooLongError when the batches could outlast the workflow's timeout
 * @example
 * await resolveHostsStep({ target: 'demo', runId: 'r1', batchSize: '100%' }, deps) // { hosts: [local:lab/app], batches: [{ index: 0, … }], batchCount: 1 }
 */
export async function resolveHostsStep(input: ResolveHostsInput, deps: DeployDeps): Promise<ResolvedHosts> {
  const target = deps.findTarget(input.target);
  const { hosts: directory } = deps.driversFor(target);
  const hosts = await directory.resolve(hostSelector(target));
  if (hosts.length === 0) {
    const declared = target.hosts;
    const what =
      declared.type === 'local'
        ? `directory ${declared.directory}`
        : 'instanceIds' in declared
          ? `instances ${declared.instanceIds.join(', ')} in ${declared.region}`
          : `instances tagged ${Object.entries(declared.tags)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')} in ${declared.region}`;
    throw new NoHostsError(
      `no host of target "${target.name}" can take commands: none of the ${what} is running with an online SSM agent`,
    );
  }
  let offset = 0;
  const batches = splitIntoBatches(hosts, input.batchSize).map((batch, index) => {
    const item = { index, hosts: batch, offset, hostCount: hosts.length };
    offset += batch.length;
    return item;
  });
  if (input.runTimeoutSeconds !== undefined) {
    const bound = runBoundSeconds(planDeploy(target, 'HEAD', input.runId), batches.length);
    if (bound > input.runTimeoutSeconds) {
      throw new RunTooLongError(
        `a deploy of target "${target.name}" to ${hosts.length} hosts in ${batches.length} batches may take up to ${bound} s, longer than the workflow's timeout of ${input.runTimeoutSeconds} s: use larger batches, or deploy the stage again so that its timeout covers this fleet`,
      );
    }
  }
  return { hosts, batches, batchCount: batches.length };
}

/**
 * create-snapshots: snapshots the hosts' volumes (and the database) before the deploy, tagged with
 * target, run and ref.
 *
 * @example
 * await createSnapshotsStep({ target: 'zmanim', ref: 'v2', runId: 'r1', hosts, snapshot: { enabled: true, ebs: true } }, deps)
 * // { volumeSnapshotIds: ['snap-…'] }
 */
export async function createSnapshotsStep(
  input: CreateSnapshotsInput,
  deps: DeployDeps,
): Promise<SnapshotsTaken> {
  const target = deps.findTarget(input.target);
  const { snapshots } = deps.driversFor(target);
  const tags = {
    'stepops:target': target.name,
    'stepops:run': input.runId,
    'stepops:ref': input.ref,
    [PRE_DEPLOY_REASON.key]: PRE_DEPLOY_REASON.value,
  };
  const volumeSnapshotIds = input.snapshot.ebs ? await snapshots.snapshotVolumes(input.hosts, tags) : [];
  const rds = input.snapshot.rdsInstance;
  const region = target.hosts.type === 'ec2' ? target.hosts.region : process.env.AWS_REGION;
  if (rds && !region) throw new InvalidInputError(`no AWS region for the snapshot of ${rds}: set AWS_REGION`);
  const taken = {
    volumeSnapshotIds,
    ...(rds && region ? { dbSnapshotId: await snapshots.snapshotDatabase(region, rds, tags) } : {}),
  };
  const retention = target.deploy?.snapshotBeforeDeploy?.retention;
  if (!retention || !region) return taken;
  return {
    ...taken,
    pruned: await prunePreDeploySnapshots(target.name, region, rds, retention, snapshots, deps),
  };
}

/**
 * Deletes the pre-deploy snapshots the target's retention no longer keeps (this run's, still being
 * taken, are kept). A failure here never fails the deploy: it is returned, and the next deploy
 * prunes again.
 */
async function prunePreDeploySnapshots(
  target: string,
  region: string,
  rdsInstance: string | undefined,
  retention: { deploys: number; days: number },
  snapshots: SnapshotService,
  deps: DeployDeps,
): Promise<{ deleted: string[]; error?: string }> {
  const deleted: string[] = [];
  if (!snapshots.listPreDeploy || !snapshots.deletePreDeploy) return { deleted };
  try {
    const found = await snapshots.listPreDeploy({ target, region, ...(rdsInstance ? { rdsInstance } : {}) });
    const decision = decidePreDeployPrune(found, target, retention, new Date(deps.now()));
    for (const snapshot of decision.delete) {
      await snapshots.deletePreDeploy(snapshot, target);
      deleted.push(snapshot.id);
    }
    return { deleted };
  } catch (error) {
    return { deleted, error: `pruning the pre-deploy snapshots failed: ${(error as Error).message}` };
  }
}

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
 * Checks that this run still holds the target's lease and renews it for what is left to do.
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
  const renewed = await leases.acquire(key, runId, ttlSeconds);
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

async function probeRound(
  target: Target,
  input: CheckHealthInput,
  deps: DeployDeps,
): Promise<ProbeOutcome[]> {
  const declared = target.health?.probes ?? [];
  const unknown = input.healthGate.probes.filter((name) => !declared.some((p) => p.name === name));
  const probes = declared.filter((p) => input.healthGate.probes.includes(p.name));
  let results: ProbeResult[];
  try {
    results = await runProbeRound(deps.driversFor(target).probes, probes, input.hosts);
  } catch (error) {
    results = probes.map((p) => ({
      probe: p.name,
      ok: false,
      detail: `the probe could not run: ${rejectionReason(error)}`,
    }));
  }
  const missing: ProbeResult[] = unknown.map((name) => ({
    probe: name,
    ok: false,
    detail: `target "${target.name}" has no probe named "${name}"`,
  }));
  return [...missing, ...results].map((r) => ({
    probe: r.probe,
    ok: r.ok,
    detail: r.detail.slice(0, 500),
    ...(r.host ? { host: r.host } : {}),
  }));
}

/**
 * check-health: the health gate. Runs every gate probe against the hosts each interval until the
 * required number of consecutive passing rounds (`healthy`), the gate's deadline (`unhealthy`), or
 * the end of the long-poll budget (`checking`: the workflow calls again with the returned state).
 *
 * @example
 * let gate = INITIAL_GATE;
 * do gate = await checkHealthStep({ target: 'demo', hosts, healthGate, gate }, deps, remaining);
 * while (gate.status === 'checking');
 */
export async function checkHealthStep(
  input: CheckHealthInput,
  deps: DeployDeps,
  remaining: RemainingTime,
): Promise<GateState> {
  const target = deps.findTarget(input.target);
  const { intervalSeconds, successes, timeoutSeconds } = input.healthGate;
  const deadline = input.gate.deadline ? Date.parse(input.gate.deadline) : deps.now() + timeoutSeconds * 1000;
  const budgetEnd = deps.now() + Math.max(0, Math.min(LONG_POLL_MAX_MS, remaining() - LONG_POLL_SAFETY_MS));
  let { consecutive, rounds } = input.gate;
  let last = input.gate.last;
  const state = (status: GateState['status']): GateState => ({
    status,
    consecutive,
    rounds,
    deadline: new Date(deadline).toISOString(),
    ...(last ? { last } : {}),
  });
  // A round starts only if it can end (its slowest probe's bound) before the invocation must return.
  const gateProbes = (target.health?.probes ?? []).filter((p) => input.healthGate.probes.includes(p.name));
  const roundMs = probeRoundSeconds(gateProbes) * 1000;
  const workEnd = deps.now() + Math.max(0, remaining() - LONG_POLL_SAFETY_MS);
  if (deps.now() + roundMs > workEnd) {
    // Not even a fresh invocation fits one round: looping would never probe; fail with the reason.
    last = [
      {
        probe: input.healthGate.probes.join(', '),
        ok: false,
        detail: `a round of these probes can take ${roundMs / 1000} s, more than the ${Math.floor((workEnd - deps.now()) / 1000)} s this check can use: shorten the probes' timeouts`,
      },
    ];
    return state('unhealthy');
  }
  // The interval since the last round counts across invocations: wait for its end when it fits.
  const nextRoundAt = input.gate.nextRoundAt ? Date.parse(input.gate.nextRoundAt) : 0;
  const wait = nextRoundAt - deps.now();
  if (wait > 0 && deps.now() + wait + roundMs <= workEnd) await deps.sleep(wait);
  for (;;) {
    last = await probeRound(target, input, deps);
    rounds += 1;
    consecutive = last.every((r) => r.ok) ? consecutive + 1 : 0;
    if (consecutive >= successes) return state('healthy');
    const next = deps.now() + intervalSeconds * 1000;
    if (next > deadline) return state('unhealthy');
    if (next > budgetEnd || next + roundMs > workEnd) {
      return { ...state('checking'), nextRoundAt: new Date(next).toISOString() };
    }
    await deps.sleep(intervalSeconds * 1000);
  }
}

/**
 * describe-batch-failure: turns the failure records of a failed batch into the error and the JSON
 * cause its Map iteration fails with, so that the batch index, the state, the host and the output
 * tail come out of the Map.
 *
 * @example
 * describeBatchFailureStep({ batch, failure: { WaitForDeploy: { Error: 'CommandFailedError', Cause: status } } })
 * // { error: 'CommandFailedError', cause: '{"batchIndex":0,"state":"WaitForDeploy",…}' }
 */
export function describeBatchFailureStep(input: DescribeBatchFailureInput): BatchFailed {
  const failure = describeBatch(input.batch, input.failure);
  return { error: failure.error, cause: JSON.stringify(failure) };
}

/**
 * plan-rollback: reads why the batches stopped and lists every host already touched (all batches up
 * to the failed one), with a fresh health gate for after the rollback.
 *
 * @example
 * planRollbackStep({ batches, failure: { Error: 'BatchFailedError', Cause: '{"batchIndex":0,…}' } }).hosts
 */
export function planRollbackStep(input: PlanRollbackInput): RollbackPlan {
  const failure = describeBatchFailure(input.failure);
  const touched = touchedBatches(input.batches, failure.batchIndex);
  const hosts = touched.flatMap((b) => b.hosts);
  return {
    hosts,
    hostCount: input.batches[0]?.hostCount ?? input.batches.reduce((n, b) => n + b.hosts.length, 0),
    batchesTouched: touched.length,
    failure,
    gate: INITIAL_GATE,
    drain: INITIAL_TARGETS_WAIT,
    register: INITIAL_TARGETS_WAIT,
  };
}

function executionUrl(executionId: string | undefined): string | undefined {
  const match =
    executionId && /^arn:aws[a-z-]*:states:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:execution:/.exec(executionId);
  if (!match) return undefined;
  const region = match[1];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionId}`;
}

/**
 * notify: says how the run ended (see {@link summarizeDeploy}), publishes it through the target's
 * notifier (or the fallback one when the target is unknown), and returns the outcome the workflow
 * ends with.
 *
 * @example
 * await notifyStep({ run: $, runId: 'r1' }, deps) // { outcome: 'rolled-back', error: 'DeployFailedError', … }
 */
export async function notifyStep(input: NotifyInput, deps: DeployDeps): Promise<RunOutcome> {
  const summary = summarizeDeploy(input.run as DeployRunState);
  let notifier = deps.fallbackNotifier;
  try {
    const target = deps.findTarget(summary.target);
    notifier = () => deps.driversFor(target).notifier;
  } catch {
    // unknown or invalid target: the fallback notifier
  }
  const url = executionUrl(input.executionId);
  const notification: Notification = {
    target: summary.target,
    workflow: 'deploy',
    outcome: summary.outcome,
    runId: input.runId,
    summary: summary.summary,
    ...(summary.ref !== undefined ? { ref: summary.ref } : {}),
    ...(summary.failedState ? { failedState: summary.failedState } : {}),
    ...(summary.error ? { error: summary.error } : {}),
    ...(summary.cause ? { cause: summary.cause } : {}),
    ...(summary.host ? { host: summary.host } : {}),
    ...(summary.outputTail ? { outputTail: summary.outputTail } : {}),
    ...(url ? { executionUrl: url } : {}),
    at: new Date(deps.now()).toISOString(),
  };
  await notifier().publish(notification);
  const { target: _target, ref: _ref, outputTail: _tail, ...outcome } = summary;
  return outcome;
}
