/** `stepops init`: its options and help; the work loads on use from `../commands/init.ts`. */
import type { Command } from 'commander';
import type { InitOptions } from '../commands/init.ts';

/** Adds `init` to the program. */
export function define(program: Command): void {
  program
    .command('init')
    .description(
      'write an example target, sst.config.ts and .gitignore lines into this repository (keeps what exists)',
    )
    .option('--name <name>', 'the target name (default: the directory name)')
    .option('--local <directory>', 'a directory on this machine plays the host (to rehearse locally)')
    .option('--url <url>', 'the URL the health probe checks (default: unfilled)')
    .action(async (options: InitOptions) => {
      const { init } = await import('../commands/init.ts');
      process.exitCode = init(process.cwd(), options);
    });
}
