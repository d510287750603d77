/** `stepops deploy`: its options and help; the work loads on use from `../commands/deploy.ts`. */
import type { Command } from 'commander';
import type { DeployCommandOptions } from '../commands/deploy.ts';

/** Adds `deploy` to the program. */
export function define(program: Command): void {
  program
    .command('deploy <target>')
    .description(
      'deploy a ref: on a stage (--stage) through its state machine, followed live; else on the local engine',
    )
    .option('--ref <ref>', 'branch, tag or commit to deploy')
    .option('--reason <text>', 'why: shown in the history and the notifications')
    .option('--stage <stage>', 'the stage on AWS (also STEPOPS_STAGE); without one, the local engine')
    .option('--local', 'on the local engine, even with STEPOPS_STAGE set')
    .option('--no-follow', 'print the run id once started, do not follow it')
    .option('--idempotency-key <key>', 'the same key starts the run once (a repeated command answers it)')
    .action(async (target: string, options: DeployCommandOptions) => {
      const [{ deploy }, { withDetachOnInterrupt }] = await Promise.all([
        import('../commands/deploy.ts'),
        import('../commands/follow.ts'),
      ]);
      process.exitCode = await withDetachOnInterrupt((signal) =>
        deploy(target, options, { signal, interactive: Boolean(process.stdout.isTTY) }),
      );
    });
}
