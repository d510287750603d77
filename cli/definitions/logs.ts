/** `stepops logs`: its options and help; the work loads on use from `../commands/logs.ts`. */
import type { Command } from 'commander';
import type { LogsOptions } from '../commands/logs.ts';
import { WHERE_HELP } from '../runs/where-help.ts';

/** Adds `logs` to the program. */
export function define(program: Command): void {
  program
    .command('logs <run>')
    .description("a run's timeline and, per command step, its hosts and the tail of their output")
    .option('--stage <stage>', WHERE_HELP.stage)
    .option('--local', WHERE_HELP.local)
    .option('--lines <n>', 'lines of output per host (default 20)')
    .option('--json', 'print JSON')
    .action(async (runId: string, options: LogsOptions) => {
      const { logs } = await import('../commands/logs.ts');
      process.exitCode = await logs(runId, options);
    });
}
