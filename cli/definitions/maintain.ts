/** `stepops maintain`: its options and help; the work loads on use from `../commands/maintain.ts`. */
import type { Command } from 'commander';
import type { MaintainCommandOptions } from '../commands/maintain.ts';
import { WHERE_HELP } from '../runs/where-help.ts';

/** Adds `maintain` to the program. */
export function define(program: Command): void {
  program
    .command('maintain <target>')
    .description(
      "run a target's maintenance jobs (or one) as their schedules do: one batch of hosts at a time behind the health gate, skipped while another run holds the target; on a stage through its state machine, else on the local engine",
    )
    .option('--job <name>', 'only this maintenance job (see "stepops plan maintenance <target>")')
    .option('--reason <text>', 'why: shown in the history and the notifications')
    .option('--stage <stage>', 'the stage on AWS (also STEPOPS_STAGE); without one, the local engine')
    .option('--local', WHERE_HELP.local)
    .option('--no-follow', 'on a stage: print the run id once started, do not follow it')
    .option('--idempotency-key <key>', 'on a stage, with --job: the same key starts the run once')
    .action(async (target: string, options: MaintainCommandOptions) => {
      const [{ maintain }, { withDetachOnInterrupt }] = await Promise.all([
        import('../commands/maintain.ts'),
        import('../commands/follow.ts'),
      ]);
      process.exitCode = await withDetachOnInterrupt((signal) =>
        maintain(target, options, { signal, interactive: Boolean(process.stdout.isTTY) }),
      );
    });
}
