/**
 * What the CLI's runs on the embedded local engine share (`deploy`, `backup`, `recover` without
 * `--stage`): the target a run takes (a name or a target file), the progress lines of its trace
 * events, the release of what an aborted run holds, and the exit 2 of bad input.
 */
import { existsSync, statSync } from 'node:fs';
import {
  ConfigError,
  formatIssue,
  isTargetPath,
  loadTargetFile,
  resolveTargetFile,
} from '../../shared/config/load.ts';
import { findTarget, isRegistered, registerTarget } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import type {
  Execution,
  LocalEngine,
  PendingTask,
  RunResult,
  TraceEvent,
} from '../../shared/engine/index.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { targetLeaseKey } from '../../shared/lease-keys.ts';
import type { RecoveryFactories } from '../../shared/recovery/deps.ts';
import { EXIT, type Output, stdio } from '../output.ts';
import { createProgress, type Progress, type ProgressEvent, type ProgressStream } from '../progress.ts';
import { recordLocalRun } from './local.ts';

/** The account and region of the Lambda ARNs a local run binds its handlers to. */
export const LOCAL_ARN_PREFIX = 'arn:aws:lambda:local:000000000000:function:stepops-';

/** The error of a run stopped with `Execution.abort()`. */
export const ABORTED = 'States.Aborted';

/**
 * The local ARN of a workflow function.
 *
 * @example
 * localArn('notify') // 'arn:aws:lambda:local:000000000000:function:stepops-notify'
 */
export function localArn(functionName: string): string {
  return `${LOCAL_ARN_PREFIX}${functionName}`;
}

/**
 * Bad input found before a run starts: prints it (every issue of an invalid target file, or the
 * message) and answers exit 2; undefined for any other error, which the caller rethrows.
 *
 * @example
 * const code = inputErrorCode(error, out);
 * if (code === undefined) throw error;
 */
export function inputErrorCode(error: unknown, out: Output): typeof EXIT.invalidInput | undefined {
  if (error instanceof ConfigError) {
    for (const issue of error.issues) out.err(formatIssue(issue));
    return EXIT.invalidInput;
  }
  if (error instanceof InvalidInputError) {
    out.err(`stepops: ${error.message}`);
    return EXIT.invalidInput;
  }
  return undefined;
}

/** Resolves AWS credentials for a region as the SDK's clients do (tests replace it). */
export type CredentialCheck = (region: string) => Promise<unknown>;

async function sdkCredentials(region: string): Promise<unknown> {
  const { dynamoClient } = await import('../../shared/drivers/aws/clients.ts');
  return dynamoClient(region).config.credentials();
}

/**
 * A local run of an `ec2` target acts through AWS (SSM, EC2, snapshots) with the caller's
 * credentials: checks they are there before anything starts or is recorded, as a deploy does.
 * Local hosts need nothing.
 *
 * @example
 * await checkAwsCredentials(findTarget('zmanim')); // throws without credentials
 * @throws MissingCredentialsError (exit 2) naming the variables to set
 */
export async function checkAwsCredentials(
  target: Target,
  credentials: CredentialCheck = sdkCredentials,
): Promise<void> {
  if (target.hosts.type !== 'ec2') return;
  const region = target.hosts.region;
  try {
    await credentials(region);
  } catch (error) {
    const { MissingCredentialsError } = await import('../stage.ts');
    throw new MissingCredentialsError(
      `target "${target.name}" has ec2 hosts, which a local run reaches through AWS, and no AWS credentials were found (${(error as Error).message?.split('\n')[0] ?? String(error)}): set AWS_PROFILE (a profile of ~/.aws/config) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; nothing was started`,
    );
  }
}

/**
 * Checks a `--reason`: when given, one line of text saying why (history and the alerts show it),
 * not empty.
 *
 * @example
 * checkReason('hotfix for the login page'); // fine
 * checkReason(''); // throws
 * @throws InvalidInputError for an empty reason or one with control characters (line breaks)
 */
export function checkReason(reason: string | undefined): void {
  if (reason === undefined) return;
  if (reason.trim() === '') throw new InvalidInputError('--reason: expected a non-empty reason saying why');
  if (/\p{Cc}/u.test(reason)) {
    throw new InvalidInputError('--reason: expected one line of text, without control characters');
  }
}

/**
 * The target a run takes: the file a path names (`./my-target.ts`), a target registered at run
 * time (fixtures, the demo's lab), or the file `targets/<name>.ts`. A file is loaded as `plan`
 * loads it, so a new file is seen without any other step, and registered so that the handlers,
 * called in-process, find the very same target.
 *
 * @example
 * const target = await resolveRunTarget('./targets/billing.ts');
 * @throws ConfigError for an invalid file, UnknownTargetError (exit 2) for an unknown name or a
 *   path that is not a target file
 */
export async function resolveRunTarget(nameOrFile: string): Promise<Target> {
  const fromFile =
    isTargetPath(nameOrFile) || (!isRegistered(nameOrFile) && existsSync(resolveTargetFile(nameOrFile)));
  if (!fromFile) return findTarget(nameOrFile);
  if (statSync(nameOrFile, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InvalidInputError(
      `"${nameOrFile}" is a directory: name a target, or the path of a target file (e.g. stepops/targets/web.ts)`,
    );
  }
  const { target, input } = await loadTargetFile(nameOrFile);
  registerTarget(input);
  return findTarget(target.name);
}

/**
 * Where a run's progress lines go: the terminal itself when writing to stdout (a spinner needs the
 * real stream), else one line per write to `out`.
 *
 * @example
 * createProgress({ stream: progressStream(out) });
 */
export function progressStream(out: Output): ProgressStream {
  if (out === stdio) return process.stdout;
  return {
    write: (chunk: string | Uint8Array) => {
      out.out(String(chunk).replace(/\n$/, ''));
      return true;
    },
    isTTY: false,
  };
}

/**
 * Maps the engine's trace events to what the progress display shows. Iteration events are left
 * out; a catch without an error name gets the one the state failed with; the exit a caught state
 * reports after its catch (with no duration) is dropped.
 *
 * @example
 * const toProgress = progressMapper();
 * toProgress({ kind: 'state-entered', state: 'PlanDeploy', at: 0, elapsedMs: 0, depth: 0 }); // { kind: 'entered', state: 'PlanDeploy' }
 */
export function progressMapper(): (event: TraceEvent) => ProgressEvent | undefined {
  const failedWith = new Map<string, string>();
  return (event) => {
    const state = event.state;
    if (state === undefined) return undefined;
    const label = event.iteration !== undefined ? `${state} [${event.iteration}]` : state;
    const typed = event.stateType !== undefined ? { stateType: event.stateType } : {};
    const duration = event.durationMs !== undefined ? { durationMs: event.durationMs } : {};
    switch (event.kind) {
      case 'state-entered':
        failedWith.delete(label);
        return { kind: 'entered', state: label, ...typed };
      case 'state-exited':
        if (event.durationMs === undefined && failedWith.has(label)) return undefined;
        return { kind: 'left', state: label, ...typed, ...duration };
      case 'state-failed':
        failedWith.set(label, event.error ?? 'an error');
        return {
          kind: 'failed',
          state: label,
          ...typed,
          ...duration,
          ...(event.error ? { error: event.error } : {}),
        };
      case 'state-retried':
        return {
          kind: 'retry',
          state: label,
          ...(event.attempt !== undefined ? { attempt: event.attempt } : {}),
          ...(event.error ? { error: event.error } : {}),
        };
      case 'state-caught': {
        const error = event.error ?? failedWith.get(label);
        return {
          kind: 'caught',
          state: label,
          ...(error ? { error } : {}),
          ...(event.next ? { next: event.next } : {}),
        };
      }
      default:
        return undefined;
    }
  };
}

/** A lease as a run's state records it: its key and its owner. */
interface HeldLease {
  key: string;
  owner: string;
}

function heldLease(value: unknown): HeldLease | undefined {
  const lease = value as { key?: unknown; owner?: unknown } | null | undefined;
  return typeof lease?.key === 'string' && typeof lease.owner === 'string'
    ? { key: lease.key, owner: lease.owner }
    : undefined;
}

/**
 * The last lease a run's trace shows it took: `$.lock` (recover, maintenance: their AcquireLock), or
 * `$.hosts.lock` (deploy: ClaimHosts takes the lease, then resolves the hosts). Undefined when no
 * state that took it has ended.
 *
 * @example
 * leaseInTrace(result.trace.events) // { key: 'target:demo', owner: 'run-1' }
 */
export function leaseInTrace(events: readonly TraceEvent[]): HeldLease | undefined {
  let lease: HeldLease | undefined;
  for (const event of events) {
    if (event.kind !== 'state-exited') continue;
    const output = event.output as { lock?: unknown; hosts?: { lock?: unknown } } | null | undefined;
    lease = heldLease(output?.lock) ?? heldLease(output?.hosts?.lock) ?? lease;
  }
  return lease;
}

/**
 * An aborted run ends without passing through its release state: release the target's lease it
 * took, so that the next deploy is not locked out until the lease expires. The lease is read from
 * the trace ({@link leaseInTrace}); a run aborted inside the state that takes it (the deploy's
 * ClaimHosts, resolving the hosts once the lease is taken) has no such record, so the target's
 * lease is released when the store says this run (its execution name) holds it.
 *
 * @example
 * if (result.error === ABORTED) await releaseAbortedLock(target, result, out);
 */
export async function releaseAbortedLock(target: Target, result: RunResult, out: Output): Promise<void> {
  const recorded = leaseInTrace(result.trace.events);
  const key = recorded?.key ?? targetLeaseKey(target.name);
  try {
    const { driversFor } = await import('../../shared/all-drivers.ts');
    const leases = driversFor(target).leases;
    let owner = recorded?.owner;
    if (owner === undefined) {
      const holder = await leases.holder(key);
      if (holder?.owner !== result.executionName) return;
      owner = holder.owner;
    }
    await leases.release(key, owner);
    out.out(
      `run aborted: released the lease ${key}; a command already sent may still be running on the hosts`,
    );
  } catch (error) {
    out.err(
      `stepops: could not release the lease ${key}: ${(error as Error).message} (it expires on its own)`,
    );
  }
}

/** A run on the local engine, as {@link runOnLocalEngine} starts it. */
export interface LocalEngineRun {
  engine: LocalEngine;
  input: unknown;
  /** The workflow the run is recorded under (`deploy`, `backup`, `recover`, `maintenance`). */
  workflow: string;
  /** What the run's record says: its target, reason, requester (and run id, when chosen). */
  record: Parameters<typeof recordLocalRun>[1];
  out: Output;
  interactive?: boolean | undefined;
  /** Each trace event, before its progress line (stop `progress` before printing). */
  onEvent?: ((event: TraceEvent, progress: Progress) => void) | undefined;
  /** A callback Task waiting for its answer. */
  onTaskToken?: ((task: PendingTask, progress: Progress) => void) | undefined;
  onStart?: ((execution: Execution) => void) | undefined;
}

/**
 * Runs a workflow on the local engine with live progress, recorded under .stepops/runs (so that
 * status, history, logs and follow read local runs too), and answers its result once the progress
 * is stopped and the record finished (a record that could not be written is a warning).
 *
 * @example
 * const result = await runOnLocalEngine({ engine, input, workflow: 'deploy', record: input, out });
 */
export async function runOnLocalEngine(run: LocalEngineRun): Promise<RunResult> {
  const progress = createProgress({
    stream: progressStream(run.out),
    ...(run.interactive !== undefined ? { interactive: run.interactive } : {}),
  });
  const toProgress = progressMapper();
  const recording = recordLocalRun(run.workflow, run.record);
  const { onTaskToken } = run;
  const execution = run.engine.start(run.input, {
    executionName: recording.runId,
    onEvent: (event) => {
      recording.event(event);
      run.onEvent?.(event, progress);
      const shown = toProgress(event);
      if (shown) progress.event(shown);
    },
    ...(onTaskToken ? { onTaskToken: (task: PendingTask) => onTaskToken(task, progress) } : {}),
  });
  run.onStart?.(execution);
  let result: RunResult;
  try {
    result = await execution.result;
  } finally {
    progress.stop();
  }
  recording.finish(result);
  if (recording.problem) run.out.err(`stepops: warning: ${recording.problem}`);
  return result;
}

/**
 * The drivers a local recovery or maintenance run uses on a target: the ones the target declares
 * (`drivers` is `shared/all-drivers.ts`, imported when a run starts).
 *
 * @example
 * const deps = recoveryDepsWith(targetDrivers(await import('../../shared/all-drivers.ts')));
 */
export function targetDrivers(drivers: typeof import('../../shared/all-drivers.ts')) {
  return {
    commands: (t) => drivers.commandRunnerFor(t),
    hosts: (t) => drivers.hostDirectoryFor(t),
    probes: (t) => drivers.probeRunnerFor(t),
    notifier: (t) => drivers.notifierFor(t),
    fallbackNotifier: () => drivers.fallbackNotifierFor(),
    leases: (t) => drivers.leaseStoreFor(t),
    loadBalancer: (t) => drivers.loadBalancerFor(t),
    runs: (t) => drivers.runLivenessFor(t),
  } satisfies RecoveryFactories;
}
