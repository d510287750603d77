/**
 * The options shared by the commands that start a run on a stage or on the local engine.
 */
import type { Command } from 'commander';

/**
 * Adds the options every command that starts a run takes: where (`--stage`, `--local`), why, and on
 * a stage `--no-follow` and `--idempotency-key`.
 *
 * @example
 * stageRunOptions(program.command('backup <target>')).action(…);
 */
export function stageRunOptions(command: Command): Command {
  return command
    .option('--reason <text>', 'why: shown in the history and the notifications')
    .option('--stage <stage>', 'the stage on AWS (also STEPOPS_STAGE); without one, the local engine')
    .option('--local', 'on the local engine, even with STEPOPS_STAGE set')
    .option('--no-follow', 'on a stage: print the run id once started, do not follow it')
    .option('--idempotency-key <key>', 'on a stage: the same key starts the run once');
}
