/**
 * The backup workflow's handlers by function name, for the registry in `index.ts`.
 */
import type { BackupFunction } from '../workflows/backup.ts';
import { handler as checkFreshness } from './check-freshness/handler.ts';
import { handler as notifyBackup } from './notify-backup/handler.ts';
import { handler as planBackup } from './plan-backup/handler.ts';
import { handler as pollBackup } from './poll-backup/handler.ts';
import { handler as pollRestoreTest } from './poll-restore-test/handler.ts';
import { handler as pruneBackups } from './prune-backups/handler.ts';
import { handler as recordBackup } from './record-backup/handler.ts';
import { handler as recordRestoreTest } from './record-restore-test/handler.ts';
import { handler as startBackup } from './start-backup/handler.ts';
import { handler as startRestoreTest } from './start-restore-test/handler.ts';

/** Every backup handler by function name. */
export const BACKUP_HANDLERS = {
  'plan-backup': planBackup,
  'start-backup': startBackup,
  'poll-backup': pollBackup,
  'record-backup': recordBackup,
  'prune-backups': pruneBackups,
  'start-restore-test': startRestoreTest,
  'poll-restore-test': pollRestoreTest,
  'record-restore-test': recordRestoreTest,
  'check-freshness': checkFreshness,
  'notify-backup': notifyBackup,
} satisfies Record<BackupFunction, unknown>;
