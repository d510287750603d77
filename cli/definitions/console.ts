/**
 * `stepops console` and `stepops status-page`: their options and help; the work loads on use from
 * `../commands/console.ts`.
 */
import type { Command } from 'commander';
import type { WhereOptions } from '../runs/source.ts';
import { WHERE_HELP } from '../runs/where-help.ts';

/** Adds `console` and `status-page` to the program. */
export function define(program: Command): void {
  program
    .command('console')
    .description(
      'a web console on 127.0.0.1: overview, targets, runs and approvals (the URL carries an access token)',
    )
    .option('--stage <stage>', WHERE_HELP.stage)
    .option('--local', WHERE_HELP.local)
    .action(async (options: WhereOptions) => {
      const [{ consoleData, startConsole }, { stdio }] = await Promise.all([
        import('../commands/console.ts'),
        import('../output.ts'),
      ]);
      const running = await startConsole(await consoleData(options), { output: stdio });
      stdio.out(`stepops console: ${running.url}\n(only this machine can reach it; Ctrl-C stops it)`);
      await new Promise<void>((resolve) => {
        const stop = () => void running.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
  program
    .command('status-page')
    .description('write the public status page (public probes, uptime, incidents) under .stepops/status/')
    .option('--stage <stage>', WHERE_HELP.stage)
    .option('--local', WHERE_HELP.local)
    .action(async (options: WhereOptions) => {
      const [{ consoleData, statusFiles, writeStatusPage }, { stdio }] = await Promise.all([
        import('../commands/console.ts'),
        import('../output.ts'),
      ]);
      const file = await writeStatusPage(await consoleData(options));
      stdio.out(`status page written: ${file} (${(await statusFiles()).length} stage(s) under status/)`);
    });
}
