import { BackupClient } from '@aws-sdk/client-backup';
import { cachedClient } from './regions.ts';

/** The AWS Backup client for a region (cached; the process's region by default). @example backupClient('eu-west-1') */
export function backupClient(region?: string): BackupClient {
  return cachedClient('backup', region, (r) => new BackupClient({ region: r }));
}
