/** `stepops history`: its options and help; the work loads on use from `../commands/history.ts`. */
import type { Command } from 'commander';
import type { HistoryOptions } from '../commands/history.ts';
import { WHERE_HELP } from '../runs/where-help.ts';

/** Adds `history` to the program. */
export function define(program: Command): void {
  program
    .command('history <target>')
    .description('past runs of a target: outcome, start, duration, ref, reason, who')
    .option('--workflow <name>', 'which workflow (default deploy)')
    .option('--limit <n>', 'at most this many runs (default 20)')
    .option('--stage <stage>', WHERE_HELP.stage)
    .option('--local', WHERE_HELP.local)
    .option('--json', 'print JSON')
    .action(async (target: string, options: HistoryOptions) => {
      const { history } = await import('../commands/history.ts');
      process.exitCode = await history(target, options);
    });
}
