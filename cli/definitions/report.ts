/** `stepops report`: its options and help; the work loads on use from `../commands/report.ts`. */
import type { Command } from 'commander';
import type { ReportOptions } from '../commands/report.ts';
import { WHERE_HELP } from '../runs/where-help.ts';

/** Adds `report` to the program. */
export function define(program: Command): void {
  program
    .command('report <target>')
    .description(
      'delivery metrics from the run history: deploy frequency, lead time, change failure rate, time to restore, success rates and durations',
    )
    .option('--days <n>', 'the window, in days up to now (default 30)')
    .option('--repo <dir>', 'a checkout of the app, where git says when each deployed ref was committed')
    .option('--stage <stage>', WHERE_HELP.stage)
    .option('--local', WHERE_HELP.local)
    .option('--json', 'print JSON')
    .action(async (target: string, options: ReportOptions) => {
      const { report } = await import('../commands/report.ts');
      process.exitCode = await report(target, options);
    });
}
