/** `stepops rollback`: its options and help; the work loads on use from `../commands/rollback.ts`. */
import type { Command } from 'commander';
import type { RollbackOptions } from '../commands/rollback.ts';
import { WHERE_HELP } from '../runs/where-help.ts';

/** Adds `rollback` to the program. */
export function define(program: Command): void {
  program
    .command('rollback <target>')
    .description(
      'deploy again the ref of the last successful deploy before the current one (asks to confirm)',
    )
    .option('--stage <stage>', WHERE_HELP.stage)
    .option('--local', WHERE_HELP.local)
    .option('--yes', 'do not ask to confirm (scripts)')
    .option('--no-follow', 'print the run id once started, do not follow it')
    .action(async (target: string, options: RollbackOptions) => {
      const [{ rollback }, { withDetachOnInterrupt }] = await Promise.all([
        import('../commands/rollback.ts'),
        import('../commands/follow.ts'),
      ]);
      process.exitCode = await withDetachOnInterrupt((signal) =>
        rollback(target, options, { signal, interactive: Boolean(process.stdout.isTTY) }),
      );
    });
}
