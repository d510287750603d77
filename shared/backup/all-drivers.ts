/**
 * Every backup driver factory, for the CLI, the tests and the benchmarks. A Lambda never imports
 * this module: it passes only the factories its step uses to `backupDepsWith`, so that its bundle
 * holds only those adapters.
 */
import { copyServiceFor, objectStoreFor, scratchDatabasesFor } from '../drivers/backups.ts';
import { backupCatalogueFor } from '../drivers/catalogue.ts';
import { commandRunnerFor } from '../drivers/commands.ts';
import { hostDirectoryFor } from '../drivers/hosts.ts';
import { leaseStoreFor } from '../drivers/leases.ts';
import { fallbackNotifierFor, notifierFor } from '../drivers/notifier.ts';
import { type BackupFactories, secretSourceFor } from './deps.ts';

/**
 * Every capability's factory.
 *
 * @example
 * const deps = backupDepsWith(ALL_BACKUP_FACTORIES);
 */
export const ALL_BACKUP_FACTORIES: Required<BackupFactories> = {
  catalogue: () => backupCatalogueFor(),
  copies: copyServiceFor,
  objects: objectStoreFor,
  commands: (target) => commandRunnerFor(target),
  hosts: (target) => hostDirectoryFor(target),
  notifier: (target) => notifierFor(target),
  scratch: scratchDatabasesFor,
  leases: (target) => leaseStoreFor(target),
  secrets: secretSourceFor,
  fallbackNotifier: () => fallbackNotifierFor(),
};
