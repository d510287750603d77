/**
 * Every script of a target, as the tests check them: the step scripts of the target file (deploy,
 * rollback, command probes, dumps, runbook scripts) and the fully rendered scripts of its plans.
 */

import { planBackup } from '../../../shared/backup/plan.ts';
import type { Target } from '../../../shared/config/schema.ts';
import { planDeploy } from '../../../shared/deploy/plan.ts';
import { planHealth } from '../../../shared/health/plan.ts';
import { planRecovery } from '../../../shared/recovery/plan.ts';

export interface LabelledScript {
  label: string;
  script: string;
}

/** What step scripts find in their environment, declared for shellcheck as the renderer exports them. */
export const STEP_HEADER = [
  '#!/usr/bin/env bash',
  'set -euo pipefail',
  "export STEPOPS_TARGET='t' STEPOPS_REF='v1' STEPOPS_RUN_ID='r' STEPOPS_DUMP_URI='s3://b/k'",
  "export STEPOPS_JOB='j' STEPOPS_PROBE='p' STEPOPS_RUNBOOK='rb'",
  '',
].join('\n');

/** The scripts written in the target file, each as a complete bash script. */
export function stepScripts(target: Target): LabelledScript[] {
  const scripts: LabelledScript[] = [];
  const add = (label: string, body: string) => scripts.push({ label, script: `${STEP_HEADER}${body}\n` });
  for (const step of target.deploy?.steps ?? []) add(`deploy.${step.name}`, step.script);
  for (const step of target.deploy?.rollback ?? []) add(`rollback.${step.name}`, step.script);
  for (const probe of target.health?.probes ?? [])
    if (probe.type === 'command') add(`probe.${probe.name}`, probe.script);
  for (const job of target.backup ?? []) if (job.type === 'dump') add(`dump.${job.name}`, job.script);
  for (const [name, runbook] of Object.entries(target.recovery ?? {})) {
    for (const step of runbook.steps) {
      if (step.type === 'script' || step.type === 'restore-dump')
        add(`recovery.${name}.${step.name}`, step.script);
    }
  }
  return scripts;
}

/** The scripts the plans render, exactly as hosts run them. */
export function renderedScripts(target: Target): LabelledScript[] {
  const scripts: LabelledScript[] = [];
  if (target.deploy) {
    // As send-command renders them: for the second batch of a two-host run.
    const hosts = { ids: ['i-0bbbbbbbbbbbbbbbb'], first: 1, count: 2 };
    const plan = planDeploy(target, 'v1.2.3', 'run-1', hosts);
    scripts.push({ label: 'plan.deploy', script: plan.deployScript });
    scripts.push({ label: 'plan.rollback', script: plan.rollbackScript });
    if (plan.verifyScript) scripts.push({ label: 'plan.verify', script: plan.verifyScript });
  }
  if (target.health) {
    const health = planHealth(target);
    for (const probe of health.probes) {
      if (probe.script) scripts.push({ label: `plan.probe.${probe.name}`, script: probe.script });
    }
    if (health.hostScript) scripts.push({ label: 'plan.probes.host', script: health.hostScript });
  }
  if (target.backup?.length) {
    for (const job of planBackup(target, { now: new Date('2025-03-01T02:00:00Z'), runId: 'run-1' }).jobs) {
      if (job.script) scripts.push({ label: `plan.backup.${job.name}`, script: job.script });
    }
  }
  for (const runbook of Object.keys(target.recovery ?? {})) {
    for (const step of planRecovery(target, runbook, { runId: 'run-1' }).steps) {
      if (step.script) scripts.push({ label: `plan.recover.${runbook}.${step.name}`, script: step.script });
    }
  }
  return scripts;
}
