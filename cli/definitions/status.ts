/** `stepops status`: its options and help; the work loads on use from `../commands/status.ts`. */
import type { Command } from 'commander';
import type { StatusOptions } from '../commands/status.ts';
import { WHERE_HELP } from '../runs/where-help.ts';

/** Adds `status` to the program. */
export function define(program: Command): void {
  program
    .command('status [target]')
    .description(
      'per target: the run in progress and the last run of each workflow, the lock holder, probe states, newest good backups, next scheduled runs',
    )
    .option('--stage <stage>', WHERE_HELP.stage)
    .option('--local', WHERE_HELP.local)
    .option('--json', 'print JSON')
    .action(async (target: string | undefined, options: StatusOptions) => {
      const { status } = await import('../commands/status.ts');
      process.exitCode = await status(target, options);
    });
}
