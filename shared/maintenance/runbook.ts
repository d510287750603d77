/**
 * A maintenance job runs as a scheduled, unattended runbook: its steps become the script steps of a
 * runbook that rolls over the hosts `batchSize` at a time (drained from the load balancer, run,
 * passed through the job's health gate, registered again), so that the maintenance workflow reuses
 * the recovery's rolling step as it is. Pure.
 */
import type { MaintenanceJob, Target } from '../config/schema.ts';
import { InvalidInputError } from '../errors.ts';
import { maintenanceScript } from '../recipes/maintenance.ts';
import { shellQuote } from '../shell/script.ts';

/** Seconds the health gate of a maintenance batch waits when the target's deploy declares no gate timing. */
export const DEFAULT_GATE_TIMEOUT_SECONDS = 300;
export const DEFAULT_GATE_INTERVAL_SECONDS = 5;

/**
 * The name of the runbook a maintenance job runs as (a runbook name, so at most 63 characters).
 *
 * @example
 * maintenanceRunbookName('certificates') // 'maintain-certificates'
 */
export function maintenanceRunbookName(job: string): string {
  return `maintain-${job}`.slice(0, 63);
}

/**
 * A target's maintenance job, or InvalidInputError naming the jobs it has.
 *
 * @example
 * maintenanceJob(findTarget('datizmo'), 'certificates').schedule // 'cron(15 4 * * ? *)'
 */
export function maintenanceJob(target: Target, job: string): MaintenanceJob {
  const jobs = target.maintenance ?? {};
  const found = Object.hasOwn(jobs, job) ? jobs[job] : undefined;
  if (!found) {
    throw new InvalidInputError(
      `target "${target.name}" has no maintenance job "${job}" (jobs: ${Object.keys(jobs).join(', ') || 'none'})`,
    );
  }
  return found;
}

/** The health gate a maintenance job's batches pass: its probes, with the deploy gate's timing when declared. */
export function maintenanceGate(
  target: Target,
  job: MaintenanceJob,
): { probes: string[]; timeoutSeconds: number; intervalSeconds: number; successes: number } {
  const deployGate = target.deploy?.healthGate;
  return {
    probes: [...job.healthGate],
    timeoutSeconds: deployGate?.timeout ?? DEFAULT_GATE_TIMEOUT_SECONDS,
    intervalSeconds: deployGate?.interval ?? DEFAULT_GATE_INTERVAL_SECONDS,
    successes: deployGate?.successes ?? 1,
  };
}

const views = new WeakMap<Target, Map<string, Target>>();

/**
 * The target as the recovery's rolling step reads it for one maintenance job: the job as an
 * unattended runbook ({@link maintenanceRunbookName}) of script steps (each recipe rendered by
 * `maintenanceScript`), rolling `batchSize` hosts at a time with no host allowed to fail, and the
 * job's `healthGate` as the gate between batches (in place of the deploy's). The load balancer and
 * everything else are the target's own. One object per target and job, so that the drivers created
 * for it are reused across invocations.
 *
 * @example
 * const view = maintenanceRunbookTarget(target, 'disk-hygiene');
 * view.recovery?.['maintain-disk-hygiene']?.rolling // { batchSize: 1, maxErrors: 0 }
 * @throws InvalidInputError when the target has no such job
 */
export function maintenanceRunbookTarget(target: Target, jobName: string): Target {
  let byJob = views.get(target);
  if (!byJob) {
    byJob = new Map();
    views.set(target, byJob);
  }
  const cached = byJob.get(jobName);
  if (cached) return cached;
  const job = maintenanceJob(target, jobName);
  const gate = maintenanceGate(target, job);
  const runbook: NonNullable<Target['recovery']>[string] = {
    description: job.description,
    steps: job.steps.map((step) => ({
      type: 'script' as const,
      name: step.name,
      // The job's name, as `plan maintenance` shows it in the script's environment.
      script: `export STEPOPS_JOB=${shellQuote(jobName)}\n${maintenanceScript(step, target.hosts)}`,
      timeout: step.timeout,
      destructive: false,
    })),
    verify: [...job.healthGate],
    destructive: false,
    unattended: true,
    approve: 'run',
    approvalTimeout: 3600,
    verifyTimeout: gate.timeoutSeconds,
    rolling: { batchSize: job.batchSize, maxErrors: 0 },
  };
  // The recovery step gates a batch on the deploy's gate probes when there are some: the job's own
  // gate replaces it here (none when the job declares none).
  const { healthGate: _deployGate, ...deployRest } = target.deploy ?? {};
  const deploy = (
    target.deploy || gate.probes.length > 0
      ? {
          ...deployRest,
          ...(gate.probes.length > 0
            ? {
                healthGate: {
                  probes: gate.probes,
                  timeout: gate.timeoutSeconds,
                  interval: gate.intervalSeconds,
                  successes: gate.successes,
                },
              }
            : {}),
        }
      : undefined
  ) as Target['deploy'];
  const view: Target = {
    ...target,
    ...(deploy ? { deploy } : {}),
    recovery: { [maintenanceRunbookName(jobName)]: runbook },
  };
  if (!deploy) delete (view as { deploy?: unknown }).deploy;
  byJob.set(jobName, view);
  return view;
}
