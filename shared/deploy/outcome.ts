/**
 * Pure functions that read what a deploy run gathered in its state and say how it ended: which
 * batch failed and why, which hosts to roll back, and the outcome, summary and cause of the run.
 */
import { parseLambdaCause } from '../engine/lambda.ts';
import {
  type Batch,
  type BatchFailure,
  batchFailureSchema,
  type CaughtError,
  type CommandStatus,
  commandStatusSchema,
  type GateState,
  gateStateSchema,
  type HostFailure,
  type RunOutcome,
  type TargetsWait,
  targetsWaitSchema,
} from './contracts.ts';

/** Tasks before the batches: a failure there ends the run without a rollback. */
export const PRE_DEPLOY_STATES = [
  'PlanDeploy',
  'ClaimHosts',
  'SendVerifyCommand',
  'WaitForVerify',
  'CreateSnapshots',
] as const;
/** The Map state running the batches; its failure starts the rollback. */
export const BATCHES_STATE = 'DeployBatches';
/** States of the rollback path; a failure there means the rollback failed. */
export const ROLLBACK_STATES = [
  'PlanRollback',
  'DrainRollbackTargets',
  'SendRollbackCommand',
  'WaitForRollback',
  'CheckHealthAfterRollback',
  'RegisterRollbackTargets',
] as const;
/** The key under which a failed release of the lease is recorded in `failures` (by the Notify step, which releases it). */
export const RELEASE_STATE = 'ReleaseLock';
/** The states of a batch, in order; a failure record is keyed by one of them. */
export const BATCH_STATES = [
  'DrainTargets',
  'SendDeployCommand',
  'WaitForDeploy',
  'CheckHealth',
  'RegisterTargets',
] as const;
/** The error of a batch whose failure could not be described (its cause is not a {@link BatchFailure}). */
export const BATCH_FAILED_ERROR = 'BatchFailedError';

/**
 * Errors a deploy run ends with when its input was bad (nothing was started): the CLI exits 2 on
 * these, 1 on any other failure.
 */
export const BAD_INPUT_ERRORS: readonly string[] = ['InvalidInputError', 'UnknownTargetError', 'ConfigError'];

/**
 * Whether a run's error means bad input.
 *
 * @example
 * isBadInputError('UnknownTargetError') // true
 * isBadInputError('DeployFailedError') // false
 */
export function isBadInputError(error: string | undefined): boolean {
  return error !== undefined && BAD_INPUT_ERRORS.includes(error);
}

/** Characters of cause a run ends with (AWS allows 32,768). */
const CAUSE_LIMIT = 8_000;

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function oneLine(text: string, max = 300): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function describeHostFailure(failure: HostFailure): string {
  const exit = failure.exitCode === undefined ? '' : ` with exit code ${failure.exitCode}`;
  return `${failure.hostId} ${failure.state}${exit}`;
}

/** Reads a command status recorded as a failure (`CommandFailedError`). */
function commandFailure(state: string, status: CommandStatus): Omit<BatchFailure, 'batchIndex'> {
  const first = status.failures[0];
  const hosts = status.failures.map(describeHostFailure).join(', ');
  return {
    state,
    error: 'CommandFailedError',
    message: `${status.phase} command ${status.commandId} failed on ${status.failedCount} of ${status.total} host(s), ${status.allowedErrors} allowed: ${hosts}`,
    ...(first ? { host: first.hostId, outputTail: first.outputTail } : {}),
  };
}

/** Reads a gate state recorded as a failure (`HealthGateFailedError`). */
function gateFailure(state: string, gate: GateState): Omit<BatchFailure, 'batchIndex'> {
  const failing = (gate.last ?? []).filter((r) => !r.ok);
  const details = failing.map((r) => `${r.probe}${r.host ? ` on ${r.host}` : ''}: ${r.detail}`).join('; ');
  const host = failing.find((r) => r.host)?.host;
  return {
    state,
    error: 'HealthGateFailedError',
    message: `health gate not passed after ${gate.rounds} round(s)${gate.deadline ? ` by ${gate.deadline}` : ''}${details ? `: ${details}` : ''}`,
    ...(host ? { host } : {}),
  };
}

/** Reads a drain or registration that ran out of time (`TargetsNotDrainedError`, `TargetsNotHealthyError`). */
function targetsFailure(state: string, error: string, wait: TargetsWait): Omit<BatchFailure, 'batchIndex'> {
  const pending = wait.pending ?? [];
  const what = error === 'TargetsNotDrainedError' ? 'did not drain from' : 'did not become healthy in';
  const hosts = pending
    .map((p) => `${p.hostId} ${p.state}${p.reason ? ` (${p.reason})` : ''} in ${p.targetGroup}`)
    .join('; ');
  return {
    state,
    error,
    message: `${wait.pendingCount ?? pending.length} host(s) ${what} the load balancer's target groups after ${wait.rounds} round(s)${wait.deadline ? ` by ${wait.deadline}` : ''}${hosts ? `: ${hosts}` : ''}`,
    ...(pending[0] ? { host: pending[0].hostId } : {}),
  };
}

/**
 * Describes one failure record (`{ Error, Cause }` as a `Catch` or a Record… Pass wrote it).
 *
 * @example
 * describeFailure('SendDeployCommand', { Error: 'Lambda.ServiceException', Cause: '{"errorType":…,"errorMessage":"rate"}' })
 * // { state: 'SendDeployCommand', error: 'Lambda.ServiceException', message: 'rate' }
 */
export function describeFailure(state: string, failure: CaughtError): Omit<BatchFailure, 'batchIndex'> {
  const cause = typeof failure.Cause === 'string' ? parseJson(failure.Cause) : failure.Cause;
  if (failure.Error === 'CommandFailedError') {
    const status = commandStatusSchema.safeParse(cause);
    if (status.success) return commandFailure(state, status.data);
  }
  if (failure.Error === 'HealthGateFailedError') {
    const gate = gateStateSchema.safeParse(cause);
    if (gate.success) return gateFailure(state, gate.data);
  }
  if (failure.Error === 'TargetsNotDrainedError' || failure.Error === 'TargetsNotHealthyError') {
    const wait = targetsWaitSchema.safeParse(cause);
    if (wait.success) return targetsFailure(state, failure.Error, wait.data);
  }
  const lambda = parseLambdaCause(failure.Cause);
  return {
    state,
    error: failure.Error,
    message: lambda
      ? lambda.errorMessage
      : typeof failure.Cause === 'string'
        ? failure.Cause
        : failure.Cause === undefined
          ? failure.Error
          : JSON.stringify(failure.Cause),
  };
}

/** The first entry of a failure map, in the given state order (then any other). */
function firstFailure(
  failures: Record<string, CaughtError>,
  order: readonly string[],
): [string, CaughtError] | undefined {
  for (const state of order) {
    const failure = failures[state];
    if (failure) return [state, failure];
  }
  return undefined;
}

/**
 * Describes why a batch failed, from its failure records (keyed by state), for the cause its Map
 * iteration fails with.
 *
 * @example
 * describeBatch({ index: 1, hosts }, { CheckHealth: { Error: 'HealthGateFailedError', Cause: gate } })
 * // { batchIndex: 1, state: 'CheckHealth', error: 'HealthGateFailedError', message: 'health gate not passed…' }
 */
export function describeBatch(batch: Batch, failures: Record<string, CaughtError>): BatchFailure {
  const first = firstFailure(failures, BATCH_STATES) ?? Object.entries(failures)[0];
  const described = first
    ? describeFailure(first[0], first[1])
    : {
        state: BATCHES_STATE,
        error: BATCH_FAILED_ERROR,
        message: 'the batch failed without a failure record',
      };
  return { batchIndex: batch.index, ...described };
}

/**
 * Reads what the Map's `Catch` caught: a failed batch ends with its error and a JSON
 * {@link BatchFailure} as cause; anything else (a Map-level error) is described as it is, without
 * a batch index.
 *
 * @example
 * describeBatchFailure({ Error: 'HealthGateFailedError', Cause: '{"batchIndex":1,"state":"CheckHealth",…}' }).batchIndex // 1
 */
export function describeBatchFailure(failure: CaughtError): BatchFailure {
  const record = batchFailureSchema.safeParse(
    typeof failure.Cause === 'string' ? parseJson(failure.Cause) : failure.Cause,
  );
  if (record.success) return record.data;
  return describeFailure(BATCHES_STATE, failure);
}

/**
 * The hosts to roll back: every host of every batch up to the failed one. When the failed batch is
 * unknown, every batch (a host left on a half-deployed version is worse than a needless rollback).
 *
 * @example
 * touchedHosts(batches, 1) // hosts of batches 0 and 1
 */
export function touchedBatches(batches: readonly Batch[], failedIndex: number | undefined): Batch[] {
  return failedIndex === undefined ? [...batches] : batches.filter((b) => b.index <= failedIndex);
}

/** What notify reads from the run state (anything may be missing, depending on where it stopped). */
export interface DeployRunState {
  target?: unknown;
  ref?: unknown;
  plan?: { target: string; ref: string; runId: string };
  hosts?: { hosts: { id: string }[]; batchCount: number };
  snapshots?: { volumeSnapshotIds: string[]; dbSnapshotId?: string };
  rollback?: { hosts: { id: string }[]; batchesTouched: number; failure: BatchFailure; gate: GateState };
  failures?: Record<string, CaughtError>;
}

/** The outcome of a run with what a notification needs besides it. */
export interface DeploySummary extends RunOutcome {
  target: string;
  ref?: string;
  outputTail?: string;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

function failureWhat(failure: BatchFailure): string {
  if (failure.error === 'HealthGateFailedError') return 'failed the health gate';
  if (failure.error === 'CommandFailedError') return 'failed its command';
  return `failed at ${failure.state} (${failure.error})`;
}

function causeText(lines: (string | undefined)[]): string {
  const text = lines.filter((l): l is string => l !== undefined && l !== '').join('\n');
  return text.length > CAUSE_LIMIT ? `${text.slice(0, CAUSE_LIMIT - 1)}…` : text;
}

function failureLines(
  label: string,
  failure: Omit<BatchFailure, 'batchIndex'> & { batchIndex?: number },
  batchCount?: number,
): string[] {
  const batch =
    failure.batchIndex === undefined
      ? ''
      : ` (batch ${failure.batchIndex + 1}${batchCount ? ` of ${batchCount}` : ''})`;
  return [
    `${label}: ${failure.state}${batch}`,
    ...(failure.host ? [`host: ${failure.host}`] : []),
    `error: ${failure.error}: ${failure.message}`,
    ...(failure.outputTail ? ['output tail:', failure.outputTail.trimEnd()] : []),
  ];
}

/**
 * Says how a deploy run ended, from its state: `succeeded`; `failed` (before any host was touched:
 * the run ends with the original error, e.g. `TargetLockedError`); `rolled-back` (a batch failed,
 * the touched hosts were rolled back and are healthy: `DeployFailedError`); `rollback-failed`
 * (`RollbackFailedError`). The cause names the state, the host and the tail of the output.
 *
 * @example
 * summarizeDeploy({ plan, hosts, failures: {} }).outcome // 'succeeded'
 */
export function summarizeDeploy(state: DeployRunState): DeploySummary {
  const target =
    state.plan?.target ?? (typeof state.target === 'string' ? oneLine(state.target, 64) : 'unknown');
  const refValue = state.plan?.ref ?? (typeof state.ref === 'string' ? oneLine(state.ref, 64) : undefined);
  const ref = refValue === undefined ? {} : { ref: refValue };
  const refText = refValue === undefined ? '' : ` of ${JSON.stringify(refValue)}`;
  const failures = state.failures ?? {};
  const release = failures[RELEASE_STATE];
  const releaseNote = release
    ? `; releasing the lock failed (${oneLine(describeFailure(RELEASE_STATE, release).message, 120)}), it expires on its own`
    : '';

  const batches = failures[BATCHES_STATE];
  if (batches) {
    const deployFailure = state.rollback?.failure ?? describeBatchFailure(batches);
    const batchCount = state.hosts?.batchCount;
    const where =
      deployFailure.batchIndex === undefined
        ? ''
        : ` on batch ${deployFailure.batchIndex + 1}${batchCount ? `/${batchCount}` : ''}`;
    const rollbackFailure = firstFailure(failures, ROLLBACK_STATES);
    const rolledBack = state.rollback?.hosts.length ?? 0;
    if (!rollbackFailure && state.rollback?.gate.status === 'healthy') {
      const summary = `deploy${refText} to ${target} ${failureWhat(deployFailure)}${where} and was rolled back to health on ${plural(rolledBack, 'host')}${releaseNote}`;
      return {
        outcome: 'rolled-back',
        target,
        ...ref,
        summary,
        error: 'DeployFailedError',
        cause: causeText([summary, ...failureLines('failed state', deployFailure, batchCount)]),
        failedState: deployFailure.state,
        ...(deployFailure.host ? { host: deployFailure.host } : {}),
        ...(deployFailure.outputTail ? { outputTail: deployFailure.outputTail } : {}),
      };
    }
    const rollback = rollbackFailure
      ? describeFailure(rollbackFailure[0], rollbackFailure[1])
      : { state: BATCHES_STATE, error: 'RollbackFailedError', message: 'the rollback did not complete' };
    const summary = `deploy${refText} to ${target} ${failureWhat(deployFailure)}${where} and the rollback failed at ${rollback.state}: ${oneLine(rollback.message, 200)}${releaseNote}`;
    return {
      outcome: 'rollback-failed',
      target,
      ...ref,
      summary,
      error: 'RollbackFailedError',
      cause: causeText([
        summary,
        ...failureLines('rollback failed state', rollback),
        ...failureLines('deploy failed state', deployFailure, batchCount),
      ]),
      failedState: rollback.state,
      ...((rollback.host ?? deployFailure.host) ? { host: rollback.host ?? deployFailure.host } : {}),
      ...((rollback.outputTail ?? deployFailure.outputTail)
        ? { outputTail: rollback.outputTail ?? deployFailure.outputTail }
        : {}),
    };
  }

  const early =
    firstFailure(failures, PRE_DEPLOY_STATES) ??
    Object.entries(failures).find(([name]) => name !== RELEASE_STATE);
  if (early) {
    const failure = describeFailure(early[0], early[1]);
    const summary = `deploy${refText} to ${target} failed at ${failure.state}, before any host was changed: ${oneLine(failure.message, 300)}${releaseNote}`;
    return {
      outcome: 'failed',
      target,
      ...ref,
      summary,
      error: failure.error,
      cause: causeText([summary, ...failureLines('failed state', failure)]),
      failedState: failure.state,
      ...(failure.host ? { host: failure.host } : {}),
    };
  }

  const hostCount = state.hosts?.hosts.length ?? 0;
  const batchCount = state.hosts?.batchCount ?? 0;
  const snapshots = [
    ...(state.snapshots?.volumeSnapshotIds ?? []),
    ...(state.snapshots?.dbSnapshotId ? [state.snapshots.dbSnapshotId] : []),
  ];
  return {
    outcome: 'succeeded',
    target,
    ...ref,
    summary: `deployed${refValue === undefined ? '' : ` ${refValue}`} to ${plural(hostCount, 'host')} of ${target} in ${plural(batchCount, 'batch', 'batches')}${snapshots.length ? `, after snapshots ${snapshots.join(', ')}` : ''}${releaseNote}`,
  };
}
