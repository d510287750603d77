/**
 * Which dump a restore-dump step restores: the newest good copy of the job in the backup catalogue
 * (the catalogue records every copy stepops made, newest first, with its outcome).
 */
import { newestGoodEntry } from '../backup/retention.ts';
import type { Target } from '../config/schema.ts';
import { presignedDumpUrl, S3DumpLocator } from '../drivers/aws/s3-dump-locator.ts';
import { backupCatalogueFor } from '../drivers/catalogue.ts';
import type { DumpLocator } from './deps.ts';

/** One copy as the catalogue lists it (the fields a restore needs). */
export interface CatalogueCopy {
  runId?: string;
  location: string;
  outcome: string;
  startedAt: string;
  finishedAt?: string;
  /** Found by a later run rather than recorded by its own: never the copy a restore relies on. */
  adopted?: boolean;
}

/** The part of the backup catalogue a restore reads: a target's copies of a job, newest first. */
export interface CatalogueReader {
  list(target: string, backup?: string): Promise<CatalogueCopy[]>;
}

/** Dump locations a host script can read: S3 objects, or files for local hosts. */
const DUMP_LOCATION = /^(s3:\/\/[a-z0-9.-]+\/\S+|file:\/\/\/\S+)$/;

/**
 * The newest good dump of a job, from the catalogue: copies that failed, are still running or were
 * deleted by retention are never restored.
 *
 * @example
 * await new CatalogueDumpLocator(backupCatalogueFor()).newestDump(target, 'database') // { uri: 's3://…', at: '…' }
 */
export class CatalogueDumpLocator implements DumpLocator {
  readonly #catalogue: CatalogueReader;

  constructor(catalogue: CatalogueReader) {
    this.#catalogue = catalogue;
  }

  async newestDump(target: Target, job: string): Promise<{ uri: string; at?: string } | undefined> {
    const copies = await this.#catalogue.list(target.name, job);
    const good = newestGoodEntry(copies, new Date(), (c) => DUMP_LOCATION.test(c.location));
    if (!good) return undefined;
    const at = good.finishedAt ?? good.startedAt;
    return { uri: good.location, ...(at ? { at } : {}) };
  }

  /** A presigned GET URL of an `s3://` dump, or a `file://` one as it is (see {@link presignedDumpUrl}). */
  downloadUrl(target: Target, uri: string, expiresInSeconds: number): Promise<string> {
    return presignedDumpUrl(target, uri, expiresInSeconds);
  }
}

/**
 * Where a target's dumps are looked up: the backup catalogue (the stage's table when
 * `STEPOPS_BACKUP_TABLE` names it, the local catalogue file for local hosts); without a table, an
 * `ec2` target's dump prefix in S3, newest object first.
 *
 * @example
 * const dump = await dumpLocatorFor(target).newestDump(target, 'database');
 */
export function dumpLocatorFor(target: Target, env: NodeJS.ProcessEnv = process.env): DumpLocator {
  if (env.STEPOPS_BACKUP_TABLE || target.hosts.type === 'local') {
    return new CatalogueDumpLocator(backupCatalogueFor({}, env));
  }
  return new S3DumpLocator();
}
