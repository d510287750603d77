/**
 * `stepops recover`, `stepops approve` and `stepops reject`: their options and help; the work loads
 * on use from `../commands/recover.ts`.
 */
import type { Command } from 'commander';
import type { RecoverCommandOptions } from '../commands/recover.ts';
import { stageRunOptions } from './stage-options.ts';

/**
 * Collects a repeatable option's values (`--param a=1 --param b=2`).
 *
 * @example
 * collect('b=2', ['a=1']) // ['a=1', 'b=2']
 */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Adds `recover`, `approve` and `reject` to the program. */
export function define(program: Command): void {
  stageRunOptions(
    program
      .command('recover <target>')
      .description(
        'run a recovery runbook: on a stage through its state machine (approve with stepops approve), followed live; else on the local engine',
      )
      .option('--runbook <name>', 'the runbook to run (see "stepops plan recover <target>")')
      .option('--param <name=value>', 'a runbook parameter (repeatable)', collect, [])
      .option(
        '--instance <id>',
        'the instance a replace-instance or restore-volume step acts on (one of the target’s)',
      )
      .option('--yes', 'local runs: approve up front (no prompt)'),
  ).action(async (target: string, options: RecoverCommandOptions) => {
    const [{ recover }, { withDetachOnInterrupt }] = await Promise.all([
      import('../commands/recover.ts'),
      import('../commands/follow.ts'),
    ]);
    process.exitCode = await withDetachOnInterrupt((signal) =>
      recover(target, options, { signal, interactive: Boolean(process.stdout.isTTY) }),
    );
  });
  for (const [verb, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    program
      .command(`${verb} <run>`)
      .description(
        `${verb} a recovery run waiting for approval: a local run, or one on AWS when STEPOPS_STATE_TABLE names the stage's table (with AWS_REGION and credentials)`,
      )
      .option('--comment <text>', 'shown in the run and its notifications')
      .action(async (runId: string, options: { comment?: string }) => {
        const { answerRun } = await import('../commands/recover.ts');
        process.exitCode = await answerRun(
          runId,
          decision,
          options.comment ? { comment: options.comment } : {},
        );
      });
  }
}
