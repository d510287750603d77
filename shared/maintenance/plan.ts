/**
 * `plan maintenance`: a target's maintenance jobs as they will run. Each step's script is rendered
 * by the very code that renders it for the run (the job seen as its unattended runbook, planned by
 * `planRecovery`), so the plan shows the header, environment and wrapper the hosts get. Pure.
 */
import type { MaintenanceStep, Target } from '../config/schema.ts';
import { planRecovery } from '../recovery/plan.ts';
import { maintenanceJob, maintenanceRunbookName, maintenanceRunbookTarget } from './runbook.ts';

/** One maintenance job as it will run. */
export interface MaintenanceJobPlan {
  name: string;
  description: string;
  schedule: string;
  timezone: string;
  batchSize: number;
  healthGate: string[];
  mute: string[];
  steps: { name: string; type: MaintenanceStep['type']; timeoutSeconds: number; script: string }[];
}

/** A target's maintenance jobs, resolved. */
export interface MaintenancePlan {
  target: string;
  runId: string;
  jobs: MaintenanceJobPlan[];
}

/**
 * The scripts a maintenance job's steps send to the hosts in the run `runId`, in order: exactly
 * what run-maintenance-step sends (the same runbook view, the same renderer).
 *
 * @example
 * maintenanceStepScripts(findTarget('datizmo'), 'certificates', 'run-1')[0] // '#!/usr/bin/env bash\n# stepops recover datizmo maintain-certificates renew …'
 * @throws InvalidInputError when the target has no such job
 */
export function maintenanceStepScripts(target: Target, job: string, runId: string): string[] {
  const plan = planRecovery(maintenanceRunbookTarget(target, job), maintenanceRunbookName(job), { runId });
  return plan.steps.map((step) => step.script ?? '');
}

/**
 * Plans a target's maintenance jobs (or one): each step with the script the hosts run, as the run
 * renders it.
 *
 * @example
 * planMaintenance(findTarget('datizmo'), { runId: 'plan-preview' }).jobs.map((j) => j.name) // ['certificates', 'security-updates']
 * @throws InvalidInputError when `job` names no maintenance job of the target
 */
export function planMaintenance(target: Target, options: { runId: string; job?: string }): MaintenancePlan {
  const names = options.job !== undefined ? [options.job] : Object.keys(target.maintenance ?? {});
  return {
    target: target.name,
    runId: options.runId,
    jobs: names.map((name) => {
      const job = maintenanceJob(target, name);
      const scripts = maintenanceStepScripts(target, name, options.runId);
      return {
        name,
        description: job.description,
        schedule: job.schedule,
        timezone: job.timezone,
        batchSize: job.batchSize,
        healthGate: job.healthGate,
        mute: job.mute,
        steps: job.steps.map((step, i) => ({
          name: step.name,
          type: step.type,
          timeoutSeconds: step.timeout,
          script: scripts[i] ?? '',
        })),
      };
    }),
  };
}
