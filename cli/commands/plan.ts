import { type BackupPlan, planBackup } from '../../shared/backup/plan.ts';
import { loadTarget } from '../../shared/config/load.ts';
import type { Target } from '../../shared/config/schema.ts';
import { type DeployPlan, planDeploy, splitIntoBatches } from '../../shared/deploy/plan.ts';
import { type HealthPlan, planHealth } from '../../shared/health/plan.ts';
import { type MaintenancePlan, planMaintenance } from '../../shared/maintenance/plan.ts';
import { listRunbooks, planRecovery, type RecoveryPlan } from '../../shared/recovery/plan.ts';
import { PLAN_KINDS, type PlanKind } from '../choices.ts';
import {
  describeBatches,
  describeHostSelection,
  EXIT,
  indent,
  knownHostIds,
  type Output,
  scriptBlock,
  stdio,
  UsageError,
} from '../output.ts';

export { PLAN_KINDS, type PlanKind };

/** Options of `stepops plan`. */
export interface PlanOptions {
  ref?: string;
  runbook?: string;
  job?: string;
  runId?: string;
  json?: boolean;
  /** The time a backup plan is made for (names the dumps); now when omitted. */
  now?: Date;
}

/** One batch of a deploy as it will run: its hosts and the scripts they are sent, host table included. */
export interface PlannedBatch {
  hosts: string[];
  deployScript: string;
}

/**
 * The scripts a deploy sends, exactly: with the hosts known (local directories, instance ids), each
 * batch's deploy script (its host table sets `STEPOPS_HOST_INDEX` and `STEPOPS_HOST_COUNT`, and
 * run-once steps run on host 0 only), the verify script of every host, and the rollback script as
 * sent to every host (after a failure in batch k, to the hosts of batches 1 to k); undefined when
 * tags select the hosts at run time.
 *
 * @example
 * deployBatches(findTarget('demo'), 'v2', 'plan-preview')?.batches[0]?.hosts // ['local:.stepops/demo/host']
 */
export function deployBatches(
  target: Target,
  ref: string,
  runId: string,
): { batches: PlannedBatch[]; verifyScript?: string; rollbackScript: string } | undefined {
  const ids = knownHostIds(target.hosts);
  const size = target.deploy?.batches.size;
  if (!ids || size === undefined) return undefined;
  let first = 0;
  const batches = splitIntoBatches(ids, size).map((hosts) => {
    const planned = planDeploy(target, ref, runId, { ids: hosts, first, count: ids.length });
    first += hosts.length;
    return { hosts, deployScript: planned.deployScript };
  });
  const every = planDeploy(target, ref, runId, { ids, first: 0, count: ids.length });
  return {
    batches,
    ...(every.verifyScript ? { verifyScript: every.verifyScript } : {}),
    rollbackScript: every.rollbackScript,
  };
}

function formatDeploy(target: Target, plan: DeployPlan, scripts: ReturnType<typeof deployBatches>): string {
  const gate = plan.healthGate;
  const snapshot = [
    ...(plan.snapshot.ebs ? ['EBS snapshot of every volume of each host'] : []),
    ...(plan.snapshot.rdsInstance ? [`RDS snapshot of ${plan.snapshot.rdsInstance}`] : []),
  ];
  const lines = [
    `deploy ${plan.target} at ${plan.ref} (run ${plan.runId})`,
    '',
    `hosts: ${describeHostSelection(target.hosts)}`,
    'batches:',
    indent(describeBatches(target.hosts, plan.batchSize, plan.maxErrors).join('\n')),
    `snapshot before deploy: ${snapshot.length ? snapshot.join('; ') : 'none'}`,
    `health gate: ${gate.probes.join(', ')}: ${gate.successes} passing round${gate.successes === 1 ? '' : 's'} in a row, every ${gate.intervalSeconds} s, within ${gate.timeoutSeconds} s; else roll back`,
    `load balancer: ${
      plan.loadBalancer
        ? `each batch leaves ${plan.loadBalancer.targetGroups.join(', ')} (drained within ${plan.loadBalancer.drainTimeoutSeconds} s) before it deploys, and joins again once healthy (within ${plan.loadBalancer.healthyTimeoutSeconds} s)`
        : 'none'
    }`,
  ];
  if (!scripts) {
    // Tags select the instances at run time: the scripts are shown without their host table.
    lines.push(
      '',
      "each script a batch is sent starts with a table of the batch's instances (found by their tags at run time) that sets STEPOPS_HOST_INDEX and STEPOPS_HOST_COUNT; steps marked runOnce run on host 0 only. Shown here without it:",
      ...(plan.verifyScript
        ? [
            '',
            scriptBlock(
              `verify script (every host, before any host changes, timeout ${plan.verifyTimeoutSeconds} s)`,
              plan.verifyScript,
            ),
          ]
        : []),
      '',
      scriptBlock(`deploy script (each host, timeout ${plan.deployTimeoutSeconds} s)`, plan.deployScript),
      '',
      scriptBlock(
        `rollback script (each host of a failed batch, timeout ${plan.rollbackTimeoutSeconds} s)`,
        plan.rollbackScript,
      ),
    );
    return lines.join('\n');
  }
  if (scripts.verifyScript) {
    lines.push(
      '',
      scriptBlock(
        `verify script (every host, before any host changes, timeout ${plan.verifyTimeoutSeconds} s)`,
        scripts.verifyScript,
      ),
    );
  }
  scripts.batches.forEach((batch, i) => {
    lines.push(
      '',
      scriptBlock(
        `deploy script of batch ${i + 1}/${scripts.batches.length}: ${batch.hosts.join(', ')} (timeout ${plan.deployTimeoutSeconds} s)`,
        batch.deployScript,
      ),
    );
  });
  lines.push(
    '',
    scriptBlock(
      `rollback script (every host touched: after a failure in batch k, the hosts of batches 1 to k; timeout ${plan.rollbackTimeoutSeconds} s)`,
      scripts.rollbackScript,
    ),
  );
  return lines.join('\n');
}

function formatBackup(target: Target, plan: BackupPlan): string {
  const lines = [
    `backup ${plan.target} (run ${plan.runId})`,
    '',
    `hosts: ${describeHostSelection(target.hosts)}`,
  ];
  for (const job of plan.jobs) {
    lines.push(
      '',
      `job ${job.name} (${job.type}), schedule ${job.schedule}`,
      `  retention: ${job.retentionRule}`,
    );
    lines.push(...job.actions.map((a) => `  - ${a}`));
    if (job.script) {
      lines.push(scriptBlock(`${job.name} script (timeout ${job.timeoutSeconds} s)`, job.script));
    }
  }
  return lines.join('\n');
}

function formatHealth(target: Target, plan: HealthPlan): string {
  const lines = [
    `health ${plan.target}, schedule ${plan.schedule}`,
    '',
    `hosts: ${describeHostSelection(target.hosts)}`,
    `unhealthy after ${plan.failureThreshold} failing check${plan.failureThreshold === 1 ? '' : 's'} in a row, healthy again after ${plan.successThreshold} passing`,
    `on failure: ${plan.onFailureRunbook ? `runbook ${plan.onFailureRunbook} by default` : 'alert only, unless a probe names a runbook'}`,
  ];
  for (const rb of plan.runbooks) {
    lines.push(
      `  ${rb.probes.join(', ')} → runbook ${rb.runbook} (at most every ${rb.cooldownMinutes} min, ${rb.maxPerDay} a day)`,
    );
  }
  const alertOnly = plan.probes.filter((p) => !p.runbook).map((p) => p.name);
  if (alertOnly.length > 0) lines.push(`  ${alertOnly.join(', ')} → alert only`);
  for (const probe of plan.probes) {
    const where = probe.scope === 'fleet' ? 'once per round on one healthy host' : `runs on ${probe.runsOn}`;
    lines.push(
      '',
      `probe ${probe.name} (${probe.type}, ${where}; on failure: ${probe.runbook ? `runbook ${probe.runbook}` : 'alert only'})`,
      `  ${probe.check}`,
    );
    if (probe.script) lines.push(scriptBlock(`${probe.name} script`, probe.script));
  }
  if (plan.hostScript)
    lines.push('', scriptBlock('host probes, one command per host each round', plan.hostScript));
  if (plan.fleetScript)
    lines.push(
      '',
      scriptBlock('fleet-wide probes, one command to one healthy host each round', plan.fleetScript),
    );
  return lines.join('\n');
}

function formatRecovery(target: Target, plan: RecoveryPlan): string {
  const lines = [
    `recover ${plan.target} with runbook ${plan.runbook} (run ${plan.runId})`,
    '',
    indent(plan.description),
    '',
    `hosts: ${describeHostSelection(target.hosts)}`,
  ];
  plan.steps.forEach((step, i) => {
    lines.push('', `step ${i + 1}/${plan.steps.length}: ${step.name} (${step.type}): ${step.description}`);
    if (step.script)
      lines.push(scriptBlock(`${step.name} script (timeout ${step.timeoutSeconds} s)`, step.script));
    if (step.actions) {
      lines.push(`  AWS actions (timeout ${step.timeoutSeconds} s):`, ...step.actions.map((a) => `  - ${a}`));
    }
  });
  lines.push('', `then verify: ${plan.verify.join(', ') || 'nothing (the target has no probes)'}`);
  return lines.join('\n');
}

function formatMaintenance(target: Target, plan: MaintenancePlan): string {
  const lines = [
    `maintenance of ${plan.target} (run ${plan.runId})`,
    '',
    `hosts: ${describeHostSelection(target.hosts)}`,
  ];
  if (plan.jobs.length === 0) lines.push('', 'no maintenance jobs');
  for (const job of plan.jobs) {
    lines.push(
      '',
      `job ${job.name}: ${job.schedule} (${job.timezone})`,
      indent(job.description),
      `  ${job.batchSize} host${job.batchSize === 1 ? '' : 's'} at a time under the target's lease; gate after each batch: ${job.healthGate.join(', ') || 'none'}`,
      `  muted while it runs: ${job.mute.join(', ') || 'none'}; a failure is alerted`,
    );
    job.steps.forEach((step, i) => {
      lines.push(
        '',
        `  step ${i + 1}/${job.steps.length}: ${step.name} (${step.type})`,
        scriptBlock(`${step.name} script (timeout ${step.timeoutSeconds} s)`, step.script),
      );
    });
  }
  return lines.join('\n');
}

/**
 * Resolves and prints the plan of a workflow for a target.
 *
 * @example
 * await plan('deploy', 'datizmo', { ref: 'v1.4.0' });
 * @returns the exit code
 * @throws ConfigError, InvalidInputError or UsageError on bad input (reported with exit code 2)
 */
export async function plan(
  kind: PlanKind,
  targetName: string,
  options: PlanOptions,
  output: Output = stdio,
): Promise<number> {
  const target = await loadTarget(targetName);
  const runId = options.runId ?? 'plan-preview';
  let text: string;
  let value: unknown;
  switch (kind) {
    case 'deploy': {
      if (options.ref === undefined)
        throw new UsageError('plan deploy needs --ref <ref> (a branch, tag or commit)');
      const result = planDeploy(target, options.ref, runId);
      const scripts = deployBatches(target, options.ref, runId);
      value = scripts ? { ...result, ...scripts } : result;
      text = formatDeploy(target, result, scripts);
      break;
    }
    case 'backup': {
      const result = planBackup(target, {
        now: options.now ?? new Date(),
        runId,
        ...(options.job ? { job: options.job } : {}),
      });
      value = result;
      text = formatBackup(target, result);
      break;
    }
    case 'health': {
      const result = planHealth(target);
      value = result;
      text = formatHealth(target, result);
      break;
    }
    case 'recover': {
      const runbooks = listRunbooks(target);
      if (options.runbook === undefined) {
        const known = runbooks.map((r) => `  ${r.name}: ${r.description}`).join('\n');
        throw new UsageError(
          `plan recover needs --runbook <name>; runbooks of ${target.name}:\n${known || '  (none)'}`,
        );
      }
      const result = planRecovery(target, options.runbook, { runId });
      value = result;
      text = formatRecovery(target, result);
      break;
    }
    case 'maintenance': {
      const result = planMaintenance(target, { runId, ...(options.job ? { job: options.job } : {}) });
      value = result;
      text = formatMaintenance(target, result);
      break;
    }
  }
  output.out(options.json ? JSON.stringify({ hosts: target.hosts, ...(value as object) }, null, 2) : text);
  return EXIT.ok;
}
