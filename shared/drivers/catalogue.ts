/**
 * The backup catalogue of a run: DynamoDB when the stack names a backups table
 * (`STEPOPS_BACKUP_TABLE`), else the file catalogue under the stepops home.
 */

import { DynamoBackupCatalogue } from './aws/dynamo-backup-catalogue.ts';
import { dynamoClient } from './aws/dynamo-client.ts';
import { FileBackupCatalogue } from './local/file-backup-catalogue.ts';
import type { BackupCatalogue } from './ports.ts';

/**
 * Chooses the catalogue: the table when one is named (in `region`, else the process's region), the
 * file catalogue otherwise. The recovery runbooks use the same call to find the copy to restore.
 *
 * @example
 * const entries = await backupCatalogueFor().list('docsai', 'database');
 * // the newest good copy: compare instants, and skip adopted or future-dated entries
 */
export function backupCatalogueFor(
  options: { table?: string; region?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): BackupCatalogue {
  const table = options.table ?? env.STEPOPS_BACKUP_TABLE;
  if (!table) return new FileBackupCatalogue();
  return new DynamoBackupCatalogue(table, options.region ? { client: dynamoClient(options.region) } : {});
}
