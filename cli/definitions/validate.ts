/** `stepops validate`: its options and help; the work loads on use from `../commands/validate.ts`. */
import type { Command } from 'commander';

/** Adds `validate` to the program. */
export function define(program: Command): void {
  program
    .command('validate')
    .description(
      'validate target files (all of the targets directory when none given); exit 2 listing every problem',
    )
    .argument('[target...]', 'target names (<targets directory>/<name>.ts) or paths to target files')
    .option('--stage <stage>', 'also list the values to fill in before this stage can deploy the targets')
    .action(async (names: string[], options: { stage?: string }) => {
      const [{ validate }, { stdio }] = await Promise.all([
        import('../commands/validate.ts'),
        import('../output.ts'),
      ]);
      process.exitCode = await validate(
        names,
        stdio,
        options.stage !== undefined ? { stage: options.stage } : {},
      );
    });
}
