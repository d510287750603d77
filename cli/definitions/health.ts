/**
 * `stepops health`, `stepops health history` (also `stepops uptime`) and `stepops watch`: their
 * options and help; the work loads on use from `../commands/health.ts`.
 */
import type { Command } from 'commander';
import { HEALTH_HISTORY_DAYS } from '../../shared/drivers/ports.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import type { HealthCommandOptions } from '../commands/health.ts';

/** Adds the options and the action of the uptime history to `command` (`health history`, `uptime`). */
function historyCommand(command: Command): Command {
  return command
    .description(
      "print the target's uptime and latency percentiles per day and probe, from its recorded checks",
    )
    .option('--probe <name>', 'only this probe')
    .option('--days <n>', `days back, 1 to ${HEALTH_HISTORY_DAYS}`, '7')
    .option(
      '--stage <stage>',
      'the stage on AWS (also STEPOPS_STAGE): its state table; without one, this machine',
    )
    .option('--local', 'the checks recorded on this machine, even with STEPOPS_STAGE set')
    .action(async (targetName: string, _opts: unknown, self: Command) => {
      // `health history x --stage S`: commander gives `--stage` to `health`, which declares it too.
      const opts = self.optsWithGlobals<HealthCommandOptions & { probe?: string; days: string }>();
      if (!/^\d+$/.test(opts.days)) {
        throw new InvalidInputError(
          `--days ${opts.days}: expected a whole number of days from 1 to ${HEALTH_HISTORY_DAYS}`,
        );
      }
      const { healthHistory } = await import('../commands/health.ts');
      process.exitCode = await healthHistory({
        target: targetName,
        ...(opts.probe ? { probe: opts.probe } : {}),
        ...(opts.stage !== undefined ? { stage: opts.stage } : {}),
        ...(opts.local ? { local: true } : {}),
        days: Number(opts.days),
      });
    });
}

/** Adds `health` (and `health history`), `uptime` and `watch` to the program. */
export function define(program: Command): void {
  const health = program
    .command('health')
    .argument('<target>')
    .description(
      "run one round of the target's health probes and print their states: on a stage through its health state machine; else on the local engine",
    )
    .option('--stage <stage>', 'the stage on AWS (also STEPOPS_STAGE); without one, the local engine')
    .option('--local', 'on the local engine, even with STEPOPS_STAGE set')
    .action(async (targetName: string, options: HealthCommandOptions) => {
      const { health } = await import('../commands/health.ts');
      process.exitCode = await health(targetName, options);
    });
  historyCommand(health.command('history <target>'));
  historyCommand(program.command('uptime <target>')).description(
    'the same as `stepops health history <target>`',
  );
  program
    .command('watch <target>')
    .description("run the target's health checks on its schedule in the foreground, until Ctrl-C")
    .action(async (targetName: string) => {
      const { watchHealth } = await import('../commands/health.ts');
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await watchHealth({
          target: targetName,
          signal: controller.signal,
          clear: process.stdout.isTTY === true,
          recover: true,
        });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
