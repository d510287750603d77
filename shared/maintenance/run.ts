/**
 * The steps of the maintenance workflow. A job runs as an unattended runbook
 * ({@link maintenanceRunbookTarget}): its plan is the recovery plan of that runbook, its steps run
 * through the recovery's rolling command step (batches, drain, health gate, register, maxErrors 0),
 * its final probes through the recovery's verification; only the plan's request, the outcome (a run
 * that found the target held is `skipped`, not failed) and the notification are maintenance's own.
 */
import type { RemainingTime } from '../deploy/steps/common.ts';
import { InvalidInputError } from '../errors.ts';
import type { StepProgress, Verification } from '../recovery/contracts.ts';
import type { RecoveryDeps } from '../recovery/deps.ts';
import { publishRunOutcome, recoveryOutcome, verifyStep } from '../recovery/finish.ts';
import { planRecoveryStep } from '../recovery/run.ts';
import { commandStep } from '../recovery/steps/run-recovery-command.ts';
import {
  type MaintenanceOutcome,
  type MaintenanceRunPlan,
  type MaintenanceStepInput,
  type MaintenanceVerifyInput,
  maintainRequestSchema,
  type NotifyMaintenanceInput,
  type PlanMaintenanceInput,
} from './contracts.ts';
import { maintenanceJob, maintenanceRunbookName, maintenanceRunbookTarget } from './runbook.ts';

/** Who a scheduled run is requested by. */
export const SCHEDULE_REQUESTER = 'stepops schedule';

/** The recovery dependencies with the target seen as the job's runbook. */
function jobDeps(deps: RecoveryDeps, job: string): RecoveryDeps {
  return { ...deps, findTarget: (name) => maintenanceRunbookTarget(deps.findTarget(name), job) };
}

function issuesText(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .map((i) => `${i.path.length ? `${i.path.map(String).join('.')}: ` : ''}${i.message}`)
    .join('; ');
}

/**
 * plan-maintenance: validates the request (unknown fields, an unknown target or job are refused)
 * and plans the job as the runbook it runs as.
 *
 * @throws InvalidInputError (or UnknownTargetError, ConfigError) before anything runs
 * @example
 * planMaintenanceStep({ input: { target: 'demo', job: 'disk-hygiene' }, runId: 'r1' }, deps).runbook.steps[0]?.name // 'logs'
 */
export function planMaintenanceStep(
  input: PlanMaintenanceInput,
  deps: Pick<RecoveryDeps, 'findTarget'>,
): MaintenanceRunPlan {
  const parsed = maintainRequestSchema.safeParse(input.input);
  if (!parsed.success) {
    throw new InvalidInputError(`invalid maintenance input: ${issuesText(parsed.error.issues)}`);
  }
  const request = parsed.data;
  const target = deps.findTarget(request.target);
  const job = maintenanceJob(target, request.job);
  const trigger = request.trigger ?? 'manual';
  const runbook = planRecoveryStep(
    {
      input: {
        target: target.name,
        runbook: maintenanceRunbookName(request.job),
        reason: request.reason ?? `maintenance "${request.job}" (${job.schedule} ${job.timezone})`,
        requestedBy: request.requestedBy ?? (trigger === 'schedule' ? SCHEDULE_REQUESTER : 'unknown'),
      },
      runId: input.runId,
    },
    { findTarget: (name) => maintenanceRunbookTarget(deps.findTarget(name), request.job) },
  );
  // Recipes are not destructive steps; an approval would leave a schedule waiting for nobody.
  if (runbook.approval.required) {
    throw new InvalidInputError(
      `maintenance "${request.job}" of ${target.name} would need an approval (${runbook.approval.why}); a maintenance job runs unattended`,
    );
  }
  return {
    target: target.name,
    job: request.job,
    runId: input.runId,
    trigger,
    mute: [...job.mute],
    batchSize: job.batchSize,
    lockTtlSeconds: runbook.lockTtlSeconds,
    runbook: {
      ...runbook,
      // The plan says what runs: this job, as the runbook it runs as.
      planText: runbook.planText.replace(
        /^recover (\S+) with runbook "[^"]*"/,
        `maintenance of $1: job "${request.job}" (${job.schedule} ${job.timezone}), as an unattended runbook`,
      ),
    },
  };
}

/**
 * run-maintenance-step: advances one step of the job by one long-poll through the recovery's
 * rolling command step (one batch at a time, drained and registered again when the target has a
 * load balancer, the job's health gate between batches; the first failed host stops the job).
 *
 * @example
 * let progress = INITIAL_PROGRESS;
 * do progress = await maintenanceStep({ ...input, progress }, deps, remaining); while (progress.status === 'running');
 */
export async function maintenanceStep(
  input: MaintenanceStepInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<StepProgress> {
  const { job, ...step } = input;
  return commandStep(step, jobDeps(deps, job), remaining);
}

/**
 * verify-maintenance: the job's health gate once every step ran on every host (the recovery's
 * verification, on the job's `healthGate` probes).
 *
 * @example
 * do verification = await verifyMaintenanceStep({ job, plan, verification }, deps, remaining); while (verification.status === 'checking');
 */
export async function verifyMaintenanceStep(
  input: MaintenanceVerifyInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<Verification> {
  const { job, ...verify } = input;
  return verifyStep(verify, jobDeps(deps, job), remaining);
}

/**
 * The outcome of a maintenance run from its state: `skipped` when another run held the target's
 * lease (nothing ran: a schedule never waits behind a deploy), else as a runbook ends.
 *
 * @example
 * maintenanceOutcome({ plan, failures: { AcquireLock: { Error: 'TargetLockedError', Cause: '…' } } }).outcome // 'skipped'
 */
export function maintenanceOutcome(
  run: Record<string, unknown>,
): MaintenanceOutcome & { outputTail?: string } {
  const plan = run.plan as { target?: string; job?: string; runbook?: unknown } | undefined;
  const input = run as { target?: unknown; job?: unknown };
  const what = `maintenance "${plan?.job ?? String(input.job ?? '?')}" of ${plan?.target ?? String(input.target ?? '?')}`;
  const failures = (run.failures ?? {}) as Record<string, { Error?: string; Cause?: unknown }>;
  const { outputTail, ...outcome } = recoveryOutcome({
    ...run,
    plan: { ...(plan?.runbook as object | undefined), target: plan?.target, runbook: plan?.job },
    failures,
  });
  const tail = outputTail ? { outputTail } : {};
  if (failures.AcquireLock?.Error === 'TargetLockedError') {
    return {
      outcome: 'skipped',
      summary: `${what} skipped: another run (a deploy, recovery or maintenance) holds the target; nothing was run`,
      error: 'TargetLockedError',
      ...(outcome.cause ? { cause: outcome.cause } : {}),
      failedState: 'AcquireLock',
      unchanged: true,
    };
  }
  const summary = outcome.summary.replace(/^recovery "[^"]*" of \S+/, what);
  return {
    ...outcome,
    summary,
    ...(outcome.failedState === 'PlanMaintenance' ? { unchanged: true } : {}),
    ...tail,
  };
}

/**
 * notify-maintenance: publishes how the run ended (a failure is an alert; a skipped run says why)
 * and returns the outcome the workflow ends with.
 *
 * @example
 * await notifyMaintenanceStep({ run: state, runId: 'r1', executionId }, deps) // { outcome: 'succeeded', summary: '…' }
 */
export async function notifyMaintenanceStep(
  input: NotifyMaintenanceInput,
  deps: Pick<RecoveryDeps, 'findTarget' | 'notifier' | 'fallbackNotifier' | 'now'>,
): Promise<MaintenanceOutcome> {
  return publishRunOutcome('maintenance', input, maintenanceOutcome(input.run), deps);
}
