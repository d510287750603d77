/**
 * `stepops backup` and `stepops backups`: their options and help; the work loads on use from
 * `../commands/backup.ts`.
 */
import type { Command } from 'commander';
import type { BackupCommandOptions } from '../commands/backup.ts';
import { stageRunOptions } from './stage-options.ts';

/** Adds `backup` and `backups` to the program. */
export function define(program: Command): void {
  stageRunOptions(
    program
      .command('backup <target>')
      .description(
        'back up a target (or one job), or test a restore, or check freshness: on a stage through its state machine, followed live; else on the local engine',
      )
      .option('--backup <name>', 'only this backup of the target')
      .option('--dry-run', 'take and delete nothing: show what the prune would delete')
      .option('--restore-test', 'restore the newest good copy into scratch and run its check')
      .option('--freshness', "alert when a backup's newest good copy is older than its RPO"),
  ).action(async (target: string, options: BackupCommandOptions) => {
    const [{ backup }, { withDetachOnInterrupt }] = await Promise.all([
      import('../commands/backup.ts'),
      import('../commands/follow.ts'),
    ]);
    process.exitCode = await withDetachOnInterrupt((signal) =>
      backup(target, options, { signal, interactive: Boolean(process.stdout.isTTY) }),
    );
  });
  program
    .command('backups <target>')
    .description('list the backup catalogue of a target: age, size, outcome, last restore test')
    .option('--backup <name>', 'only this backup')
    .option('--all', 'include copies pruned by retention')
    .option('--json', 'the catalogue entries as JSON')
    .action(async (target: string, options: { backup?: string; json?: boolean; all?: boolean }) => {
      const { listBackups } = await import('../commands/backup.ts');
      process.exitCode = await listBackups(target, options);
    });
}
