/** `stepops follow`: its options and help; the work loads on use from `../commands/follow.ts`. */
import type { Command } from 'commander';
import type { FollowCommandOptions } from '../commands/follow.ts';
import { WHERE_HELP } from '../runs/where-help.ts';

/** Adds `follow` to the program. */
export function define(program: Command): void {
  program
    .command('follow <run>')
    .description(
      'attach to a run: live progress per state, then the timeline (Ctrl-C detaches, the run goes on)',
    )
    .option('--stage <stage>', WHERE_HELP.stage)
    .option('--local', WHERE_HELP.local)
    .option('--json', 'print JSON at the end instead of progress')
    .action(async (runId: string, options: FollowCommandOptions) => {
      const [{ follow, withDetachOnInterrupt }, { DETACHED_EXIT }] = await Promise.all([
        import('../commands/follow.ts'),
        import('../runs/follow.ts'),
      ]);
      const code = await withDetachOnInterrupt((signal) =>
        follow(runId, options, { signal, interactive: Boolean(process.stdout.isTTY) && !options.json }),
      );
      process.exitCode = code === DETACHED_EXIT ? DETACHED_EXIT : code;
    });
}
