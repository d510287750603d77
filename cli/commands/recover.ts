/**
 * `stepops recover <target> --runbook <name> [--param k=v] [--instance i-…] [--yes] [--stage S]`:
 * with a stage, starts the stage's recover state machine (after the checks of its plan step) and
 * follows it, a run that needs approval waiting for `stepops approve <run>`; without one, runs the
 * very same ASL on the embedded local engine. And `stepops approve|reject <run>`, which answer a
 * run waiting for approval: a local run (through the approval files under `<state>/approvals/`,
 * which the waiting run watches) or an AWS run (DynamoDB and Step Functions, when
 * `STEPOPS_STATE_TABLE` names the stage's table). Exit 0 succeeded, 1 failed, 2 bad input.
 */
import { createInterface } from 'node:readline/promises';
import { findTarget } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import type { ApprovalStore, TaskAnswerer } from '../../shared/drivers/ports.ts';
import type { Execution, PendingTask, RunResult, TaskTokens } from '../../shared/engine/index.ts';
import { formatTimeline, readableCause } from '../../shared/engine/index.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { INSTANCE_ID_PATTERN } from '../../shared/recovery/contracts.ts';
import { planRecoveryStep } from '../../shared/recovery/run.ts';
import { EXIT, indent, type Output, stdio, UsageError, userCommand } from '../output.ts';
import { formatDuration } from '../progress.ts';
import {
  ABORTED,
  type CredentialCheck,
  checkAwsCredentials,
  checkReason,
  inputErrorCode,
  localArn,
  releaseAbortedLock,
  resolveRunTarget,
  runOnLocalEngine,
  targetDrivers,
} from '../runs/engine.ts';
import { requester, stageOf } from '../runs/source.ts';
import { abortOnInterrupt } from './follow.ts';
import {
  guarded,
  refuseLocalTarget,
  type StageRunDeps,
  type StageRunOptions,
  startOnStage,
} from './stage-run.ts';

/** A run id as `stepops approve` accepts it (a Step Functions execution name). */
const RUN_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** How often a waiting run looks for an answer given from another shell. */
const ANSWER_POLL_MS = 500;

/** Options of {@link runRecover}. */
export interface RecoverRunOptions {
  target: string;
  runbook: string;
  /** `k=v` pairs, converted to the type each parameter declares. */
  params?: string[];
  /** The instance the one-instance steps act on (`--instance i-…`); checked against the target's. */
  instance?: string;
  reason?: string;
  requestedBy?: string;
  /** Approve up front (scripts, CI). */
  yes?: boolean;
  /** What started the run: `health-alert` needs approval unless the runbook is unattended. */
  trigger?: 'manual' | 'health-alert';
  /** Answer the approval prompt (the demo); by default the terminal asks when it is a TTY. */
  answer?: (task: PendingTask, planText: string) => Promise<'approved' | 'rejected' | undefined>;
  output?: Output;
  interactive?: boolean;
  executionName?: string;
  onStart?: (execution: Execution) => void;
  /** How an ec2 target's AWS credentials are checked before it starts (tests replace it). */
  credentials?: CredentialCheck;
}

/** How a recovery run ended. */
export interface RecoverRunReport {
  exitCode: 0 | 1 | 2;
  executionName?: string;
  error?: string;
  cause?: string;
  output?: unknown;
  durationMs?: number;
}

/**
 * The `--param k=v` values, typed as the runbook declares them.
 *
 * @throws InvalidInputError for a malformed pair, an unknown parameter or a value of the wrong type
 * @example
 * parseParams(target, 'restore-database', ['snapshot=stepops-datizmo-20260301-020304'])
 */
export function parseParams(
  target: Target,
  runbook: string,
  pairs: readonly string[] = [],
): Record<string, string | number | boolean> {
  const declared = target.recovery?.[runbook]?.params ?? {};
  const values: Record<string, string | number | boolean> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new InvalidInputError(`--param ${pair}: expected name=value`);
    const key = pair.slice(0, at);
    const raw = pair.slice(at + 1);
    const spec = Object.hasOwn(declared, key) ? declared[key] : undefined;
    if (!spec) {
      throw new InvalidInputError(
        `--param ${key}: runbook "${runbook}" has no parameter "${key}" (parameters: ${Object.keys(declared).join(', ') || 'none'})`,
      );
    }
    if (spec.type === 'number') {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value))
        throw new InvalidInputError(`--param ${key}: expected a number, got "${raw}"`);
      values[key] = value;
    } else if (spec.type === 'boolean') {
      if (raw !== 'true' && raw !== 'false')
        throw new InvalidInputError(`--param ${key}: expected true or false, got "${raw}"`);
      values[key] = raw === 'true';
    } else {
      values[key] = raw;
    }
  }
  return values;
}

/**
 * Checks everything before anything starts or is recorded: the target (a name, or a target
 * file's path), the runbook, the instance, the parameters, then the checks of the workflow's
 * plan step on the very input the run gets (a reason, unfilled values, …).
 *
 * @throws InvalidInputError, ConfigError
 */
async function checkRecoverInput(
  options: RecoverRunOptions,
  reason: string,
  requestedBy: string,
): Promise<{ target: Target; input: Record<string, unknown> }> {
  const target = await resolveRunTarget(options.target);
  checkReason(options.reason);
  const runbooks = target.recovery ?? {};
  if (!Object.hasOwn(runbooks, options.runbook)) {
    throw new InvalidInputError(
      `target "${target.name}" has no runbook "${options.runbook}" (runbooks: ${Object.keys(runbooks).join(', ') || 'none'})`,
    );
  }
  if (options.instance !== undefined && !INSTANCE_ID_PATTERN.test(options.instance)) {
    throw new InvalidInputError(
      `--instance ${options.instance}: expected an instance id such as "i-0123456789abcdef0"`,
    );
  }
  if (options.instance !== undefined && target.hosts.type !== 'ec2') {
    throw new InvalidInputError(`--instance: target "${target.name}" runs on local hosts, not ec2 instances`);
  }
  if (options.executionName !== undefined && !RUN_ID.test(options.executionName)) {
    throw new InvalidInputError(
      `"${options.executionName}" is not a run id (letters, digits, "-" and "_", at most 80)`,
    );
  }
  const params = parseParams(target, options.runbook, options.params);
  const input = {
    target: target.name,
    runbook: options.runbook,
    ...(Object.keys(params).length ? { params } : {}),
    ...(options.instance ? { instance: options.instance } : {}),
    reason,
    ...(options.trigger ? { trigger: options.trigger } : {}),
    requestedBy,
  };
  planRecoveryStep({ input, runId: 'stepops-cli-check' }, { findTarget });
  await checkAwsCredentials(target, options.credentials);
  return { target, input };
}

/** The recovery workflow on the local engine with the drivers each target declares. */
async function recoverEngine(store: ApprovalStore) {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const [
    { createLocalEngine },
    { recoverWorkflow, RECOVER_FUNCTIONS },
    { recoveryTaskHandlers },
    { recoveryDepsWith },
    drivers,
    { Ec2InstanceOperations },
    { RdsRestorer },
    { dumpLocatorFor },
    { EngineTaskAnswerer },
  ] = await Promise.all([
    import('../../shared/engine/index.ts'),
    import('../../workflows/recover.ts'),
    import('../../shared/recovery/handlers.ts'),
    import('../../shared/recovery/deps.ts'),
    import('../../shared/all-drivers.ts'),
    import('../../shared/drivers/aws/ec2-instance-operations.ts'),
    import('../../shared/drivers/aws/rds-restorer.ts'),
    import('../../shared/recovery/dumps.ts'),
    import('../../shared/drivers/local/engine-task-answerer.ts'),
  ]);
  let tokens: TaskTokens | undefined;
  const deps = recoveryDepsWith({
    ...targetDrivers(drivers),
    instances: () => new Ec2InstanceOperations(),
    databases: () => new RdsRestorer(),
    dumps: (target) => dumpLocatorFor(target),
    approvals: () => store,
    answerer: () => new EngineTaskAnswerer(tokens as TaskTokens),
  });
  const tasks = recoveryTaskHandlers(deps);
  const arns = Object.fromEntries(RECOVER_FUNCTIONS.map((name) => [name, localArn(name)])) as Record<
    (typeof RECOVER_FUNCTIONS)[number],
    string
  >;
  const engine = createLocalEngine(
    recoverWorkflow(arns),
    Object.fromEntries(RECOVER_FUNCTIONS.map((name) => [arns[name], tasks[name]])),
    { stateMachineName: 'stepops-recover' },
  );
  tokens = engine.taskTokens;
  return { engine, answerer: new EngineTaskAnswerer(engine.taskTokens), deps };
}

/** Asks on the terminal; resolves undefined when stdin is not a terminal or the run moved on. */
async function askTerminal(which: string, signal: AbortSignal): Promise<'approved' | 'rejected' | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const reply = await rl.question(`approve ${which}? [y/N] `, { signal });
    return /^y(es)?$/i.test(reply.trim()) ? 'approved' : 'rejected';
  } catch {
    return undefined;
  } finally {
    rl.close();
  }
}

/**
 * Waits for the approval of a local run: `--yes`, the caller's answer, the terminal, or an answer
 * written by `stepops approve|reject` from another shell (the approval file), whichever comes
 * first; then answers the waiting Task.
 */
async function awaitApproval(
  task: PendingTask,
  options: RecoverRunOptions,
  store: ApprovalStore,
  answerer: TaskAnswerer,
  out: Output,
  runEnded: AbortSignal,
): Promise<void> {
  const runId = task.executionName;
  const { answerApproval } = await import('../../shared/recovery/approval.ts');
  const payload = task.payload as { plan?: { planText?: string }; step?: { name?: string } };
  const planText = String(payload.plan?.planText ?? '');
  // The approval of one step (an each-step runbook) is answered for that step only.
  const step = payload.step?.name;
  const which = step ? `step "${step}" of run ${runId}` : `run ${runId}`;
  const by = requester('recover');
  if (options.yes) {
    out.out(`approval${step ? ` of step "${step}"` : ''}: approved up front (--yes)`);
    await answerApproval(
      { runId, decision: 'approved', by: `${by}, --yes`, step: step ?? '' },
      store,
      answerer,
    );
    return;
  }
  out.out(
    `\napproval needed for ${which}: answer below, or from another shell (in this directory) with\n  ${userCommand(`approve ${runId}`)}\n  ${userCommand(`reject ${runId}`)}`,
  );
  const stop = new AbortController();
  runEnded.addEventListener('abort', () => stop.abort(), { once: true });
  const fromElsewhere = (async (): Promise<'answered'> => {
    while (!stop.signal.aborted) {
      const record = await store.get(runId);
      // Only the answer to this request (its token): never a previous request's of the same run.
      if (record && record.token === task.token && record.status !== 'pending') {
        if (record.status === 'approved') {
          await answerer.succeed(record.token, {
            approved: true,
            by: record.answeredBy ?? 'someone',
            at: new Date().toISOString(),
          });
        } else {
          await answerer.fail(
            record.token,
            'ApprovalRejectedError',
            `rejected by ${record.answeredBy ?? 'someone'}; ${step ? `step "${step}" and the steps after it did not run` : 'nothing was changed'}`,
          );
        }
        out.out(`approval: ${record.status} by ${record.answeredBy ?? 'someone'}`);
        return 'answered';
      }
      await new Promise((resolve) => setTimeout(resolve, ANSWER_POLL_MS));
    }
    return 'answered';
  })();
  const here = (async (): Promise<'answered' | undefined> => {
    const decision = options.answer
      ? await options.answer(task, planText)
      : await askTerminal(which, stop.signal);
    if (!decision || stop.signal.aborted) return undefined;
    await answerApproval({ runId, decision, by, step: step ?? '' }, store, answerer);
    out.out(`approval: ${decision} by ${by}`);
    return 'answered';
  })();
  try {
    await Promise.race([fromElsewhere, here.then((r) => (r ? r : fromElsewhere))]);
  } catch (error) {
    out.err(`stepops: the approval could not be answered: ${(error as Error).message}`);
  } finally {
    stop.abort();
  }
}

/**
 * Runs a runbook on the local engine: prints the plan, asks for approval when the runbook needs it,
 * shows live progress and the timeline, and says how it ended.
 *
 * @example
 * const report = await runRecover({ target: 'demo', runbook: 'restart-app', reason: 'app down', yes: true });
 * process.exitCode = report.exitCode;
 */
export async function runRecover(options: RecoverRunOptions): Promise<RecoverRunReport> {
  const out = options.output ?? stdio;
  const reason = options.reason ?? 'run from the stepops CLI';
  const requestedBy = options.requestedBy ?? requester('recover');
  let target: Target;
  let input: Record<string, unknown>;
  try {
    ({ target, input } = await checkRecoverInput(options, reason, requestedBy));
  } catch (error) {
    const code = inputErrorCode(error, out);
    if (code === undefined) throw error;
    return { exitCode: code, error: (error as Error).name };
  }
  const { FileApprovalStore } = await import('../../shared/drivers/local/file-approval-store.ts');
  const store = new FileApprovalStore();
  const { engine, answerer, deps } = await recoverEngine(store);
  out.out(`recover ${target.name} with runbook "${options.runbook}" on the local engine`);
  const approvals: Promise<void>[] = [];
  const ended = new AbortController();
  let result: RunResult;
  try {
    result = await runOnLocalEngine({
      engine,
      input,
      workflow: 'recover',
      record: {
        target: target.name,
        reason,
        requestedBy,
        ...(options.executionName ? { runId: options.executionName } : {}),
      },
      out,
      interactive: options.interactive,
      onEvent: (event, progress) => {
        if (event.kind === 'state-entered' && event.state === 'WaitRetention') {
          progress.stop();
          out.out(
            '\nthe runbook succeeded; this run now keeps the replaced instance stopped for the retention the runbook declares, then terminates it.\nstop it (Ctrl-C) to keep the instance: it stays stopped, tagged stepops:replaced-by-run and stepops:terminate-after.',
          );
        }
        if (event.kind === 'state-exited' && event.state === 'PlanRecovery') {
          const planText = (event.output as { plan?: { planText?: string } } | undefined)?.plan?.planText;
          if (planText) out.out(`\nplan\n${indent(planText)}\n`);
        }
      },
      onTaskToken: (task, progress) => {
        progress.stop();
        approvals.push(awaitApproval(task, options, store, answerer, out, ended.signal));
      },
      onStart: options.onStart,
    });
  } finally {
    ended.abort();
  }
  await Promise.allSettled(approvals);
  if (result.error === ABORTED) await releaseAbortedLock(target, result, out);
  out.out(`\ntimeline\n${indent(formatTimeline(result.trace))}`);
  const took = formatDuration(result.trace.durationMs);
  const report: RecoverRunReport = {
    // A run that refused its input (an instance that is not the target's …) changed nothing: exit 2.
    exitCode:
      result.status === 'SUCCEEDED' ? EXIT.ok : result.error === 'InvalidInputError' ? EXIT.invalidInput : 1,
    executionName: result.executionName,
    durationMs: result.trace.durationMs,
  };
  if (result.status === 'SUCCEEDED') {
    report.output = result.output;
    out.out(
      `✔ ${(result.output as { summary?: string } | undefined)?.summary ?? 'recovery succeeded'} (${took})\n`,
    );
    return report;
  }
  const cause = readableCause(result.cause);
  if (result.error !== undefined) report.error = result.error;
  if (cause) report.cause = cause;
  out.out(
    `✖ recovery "${options.runbook}" of ${target.name} failed: ${result.error ?? 'error'} after ${took}`,
  );
  if (cause) out.out(indent(cause, 2));
  // A run that ended early (an error, Ctrl-C) may leave hosts out of the load balancer: say which.
  try {
    const { hostsOutOfLoadBalancer } = await import('../../shared/recovery/finish.ts');
    const left = await hostsOutOfLoadBalancer(target, deps);
    if (left.length > 0) {
      out.err(
        `stepops: still out of the load balancer: ${left.map((h) => `${h.host} (${h.state} in ${h.targetGroup})`).join(', ')}; register them back once they are healthy`,
      );
    }
  } catch (error) {
    out.err(
      `stepops: could not read the load balancer to check for hosts left out: ${(error as Error).message}`,
    );
  }
  out.out('');
  return report;
}

/**
 * Answers the approval of a run: an AWS run when `STEPOPS_STATE_TABLE` names the stage's table
 * (the stored token is answered with SendTaskSuccess/SendTaskFailure), else a local run (the
 * approval file, which the waiting run picks up).
 *
 * @returns the exit code: 0 answered; 1 the run no longer waits (it ended) or could not be told;
 *   2 bad run id or closed approval
 * @example
 * process.exitCode = await answerRun('run-1', 'approved', { comment: 'go' });
 */
export async function answerRun(
  runId: string,
  decision: 'approved' | 'rejected',
  options: { comment?: string; by?: string; output?: Output } = {},
): Promise<number> {
  const out = options.output ?? stdio;
  if (!RUN_ID.test(runId)) {
    out.err(`stepops: "${runId}" is not a run id (letters, digits, "-" and "_", at most 80)`);
    return EXIT.invalidInput;
  }
  const by = options.by ?? requester(decision === 'approved' ? 'approve' : 'reject');
  const [
    { approvalStoreFor, taskAnswererFor },
    { awsResourceNames },
    { answerApproval },
    { ApprovalClosedError, ApprovalNotDeliveredError, ApprovalRunEndedError },
    { LocalRunSource },
    { defaultRegion },
    { awsSetupErrorOf },
  ] = await Promise.all([
    import('../../shared/drivers/approvals.ts'),
    import('../../shared/drivers/options.ts'),
    import('../../shared/recovery/approval.ts'),
    import('../../shared/recovery/errors.ts'),
    import('../runs/local.ts'),
    import('../../shared/drivers/aws/clients.ts'),
    import('../runs/aws.ts'),
  ]);
  const onAws = Boolean(awsResourceNames().stateTable);
  if (onAws && !defaultRegion()) {
    out.err(
      `stepops: STEPOPS_STATE_TABLE names a stage's table, so run ${runId} is answered on AWS: set AWS_REGION to the stage's region, and AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); nothing was answered`,
    );
    return EXIT.invalidInput;
  }
  const store = approvalStoreFor();
  try {
    if (onAws) {
      await answerApproval(
        { runId, decision, by, ...(options.comment ? { comment: options.comment } : {}) },
        store,
        taskAnswererFor(),
      );
      out.out(`${decision} run ${runId}`);
    } else {
      // A local run is answered by its own process, which watches the approval file: it must live.
      const run = await new LocalRunSource().describe(runId);
      if (run && run.status !== 'RUNNING') {
        out.err(
          `stepops: run ${runId} has already ended (${run.status}${run.error ? `: ${run.error}` : ''}); it was not ${decision}`,
        );
        return EXIT.unexpected;
      }
      await store.answer(runId, decision, by, options.comment);
      out.out(`${decision} run ${runId}; the waiting run continues`);
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ApprovalClosedError) {
      out.err(`stepops: ${error.message}`);
      return EXIT.invalidInput;
    }
    if (error instanceof ApprovalRunEndedError || error instanceof ApprovalNotDeliveredError) {
      out.err(`stepops: ${error.message}`);
      return EXIT.unexpected;
    }
    // No credentials, no region: AWS is not set up to answer it, and nothing was answered.
    const setup = awsSetupErrorOf(error);
    if (setup !== error && setup instanceof InvalidInputError) {
      out.err(`stepops: ${setup.message}; run ${runId} was not ${decision}`);
      return EXIT.invalidInput;
    }
    throw error;
  }
}

/** Options of `stepops recover`. */
export interface RecoverCommandOptions extends StageRunOptions {
  runbook?: string;
  param?: string[];
  instance?: string;
  yes?: boolean;
}

/**
 * Starts (and follows) a recovery run on a stage, or runs it on the local engine without one.
 * On a stage, a run that needs approval waits for `stepops approve <run>` (or the alert's link).
 *
 * @example
 * process.exitCode = await recover('zmanim', { runbook: 'restart-api', reason: 'API down', stage: 'prod' });
 * @returns the exit code
 */
export async function recover(
  target: string,
  options: RecoverCommandOptions,
  deps: StageRunDeps = {},
): Promise<number> {
  const out = deps.output ?? stdio;
  const env = deps.env ?? process.env;
  if (!options.runbook)
    throw new UsageError('recover needs --runbook <name> (see "stepops plan recover <target>")');
  const stage = stageOf(options, env);
  const requestedBy = deps.requestedBy ?? requester('recover', env);
  if (stage === undefined) {
    const report = await runRecover({
      target,
      runbook: options.runbook,
      params: options.param ?? [],
      requestedBy,
      output: out,
      ...(options.instance !== undefined ? { instance: options.instance } : {}),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      ...(options.yes ? { yes: true } : {}),
      ...(deps.interactive !== undefined ? { interactive: deps.interactive } : {}),
      onStart: abortOnInterrupt(deps.signal, out),
    });
    return report.exitCode;
  }
  return guarded(out, async () => {
    checkReason(options.reason);
    if (options.yes) {
      throw new InvalidInputError(
        '--yes answers a local run only: a run on a stage is approved with stepops approve <run> (or the link in its alert)',
      );
    }
    // A target file's path names the target it holds, as the stage knows it.
    const name = (await resolveRunTarget(target)).name;
    refuseLocalTarget(name, 'recover');
    const runbook = options.runbook as string;
    const params = parseParams(findTarget(name), runbook, options.param ?? []);
    const input = {
      target: name,
      runbook,
      reason: options.reason ?? 'run from the stepops CLI',
      requestedBy,
      ...(Object.keys(params).length > 0 ? { params } : {}),
      ...(options.instance !== undefined ? { instance: options.instance } : {}),
    };
    const plan = planRecoveryStep({ input, runId: 'stepops-cli-check' }, { findTarget });
    const note = plan.approval.required
      ? (run: string) =>
          `  it waits for approval (${plan.approval.why}): answer with stepops approve ${run} or stepops reject ${run} (STEPOPS_STATE_TABLE set to the stage's table), or the link in its alert`
      : undefined;
    return startOnStage(
      stage,
      {
        workflow: 'recover',
        target: name,
        input,
        what: `recovery "${runbook}"`,
        ...(note ? { note } : {}),
      },
      options,
      deps,
    );
  });
}
