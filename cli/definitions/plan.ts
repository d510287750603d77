/** `stepops plan`: its options and help; the work loads on use from `../commands/plan.ts`. */
import { Argument, type Command, Option } from 'commander';
import { PLAN_KINDS, type PlanKind } from '../choices.ts';
import type { PlanOptions } from '../commands/plan.ts';

/** Adds `plan` to the program. */
export function define(program: Command): void {
  program
    .command('plan')
    .description('print what a run would do: hosts, batches and every script exactly as it would run')
    .addArgument(new Argument('<workflow>', 'which workflow').choices(PLAN_KINDS))
    .argument('<target>', 'target name (targets/<name>.ts) or path to a target file')
    .option('--ref <ref>', 'deploy: the branch, tag or commit to deploy')
    .option('--runbook <name>', 'recover: the runbook to run')
    .option('--job <name>', 'backup, maintenance: only this job')
    .option('--run-id <id>', 'the run id the scripts receive as STEPOPS_RUN_ID', 'plan-preview')
    .addOption(new Option('--json', 'print the plan as JSON'))
    .action(async (kind: PlanKind, targetName: string, options: PlanOptions) => {
      const { plan } = await import('../commands/plan.ts');
      process.exitCode = await plan(kind, targetName, options);
    });
}
