/** `stepops check`: its options and help; the work loads on use from `../commands/check.ts`. */
import type { Command } from 'commander';

/** Adds `check` to the program. */
export function define(program: Command): void {
  program
    .command('check')
    .description('are the hosts ready for the first deploy? check each one and say how to fix what fails')
    .argument('<target>', 'target name (targets/<name>.ts) or path to a target file')
    .option(
      '--stage <stage>',
      'the stage that will run it (ec2 targets): its Slack parameter and dump buckets too',
    )
    .action(async (name: string, options: { stage?: string }) => {
      const [{ check }, { stdio }] = await Promise.all([
        import('../commands/check.ts'),
        import('../output.ts'),
      ]);
      process.exitCode = await check(
        name,
        stdio,
        options.stage !== undefined ? { stage: options.stage } : {},
      );
    });
}
