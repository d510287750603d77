/** `stepops unlock`: its options and help; the work loads on use from `../commands/unlock.ts`. */
import type { Command } from 'commander';

/** Adds `unlock` to the program. */
export function define(program: Command): void {
  program
    .command('unlock')
    .description("release a target's deploy lease after showing its holder and asking (--yes for scripts)")
    .argument('<target>', 'a target name (targets/<name>.ts) or the path of a target file')
    .option('--yes', 'release without asking')
    .option('--force', 'release even when the run holding it still runs, or cannot be found')
    .option('--stage <stage>', 'ec2 targets: the stage whose lease it is (default $STEPOPS_STAGE)')
    .action(async (name: string, options: { yes?: boolean; force?: boolean; stage?: string }) => {
      const { unlock } = await import('../commands/unlock.ts');
      process.exitCode = await unlock(name, {
        ...(options.yes ? { yes: true } : {}),
        ...(options.force ? { force: true } : {}),
        ...(options.stage !== undefined ? { stage: options.stage } : {}),
      });
    });
}
