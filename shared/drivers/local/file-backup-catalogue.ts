/**
 * File backup catalogue: one JSON file per target, `<stepopsHome()>/backups/<target>.json`, holding
 * every entry of that target. Each write reads, changes and replaces the file (with a rename, so a
 * reader never sees half a catalogue) while holding the file's lock, the same cross-process lock
 * as the file lease store's ({@link withLock}): two processes recording at once lose no entry.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BackupCatalogue, CatalogueEntry } from '../ports.ts';
import { withLock } from './file-lease-store.ts';
import { fileSafe, stepopsHome } from './home.ts';

export interface FileBackupCatalogueOptions {
  /** The state directory; {@link stepopsHome} (read at each call) when omitted. */
  home?: () => string;
}

/** Writes in progress per file, so that concurrent puts of one process do not lose each other. */
const queues = new Map<string, Promise<unknown>>();

function newestFirst(a: CatalogueEntry, b: CatalogueEntry): number {
  return b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId);
}

/**
 * The catalogue of the local engine.
 *
 * @example
 * const catalogue = new FileBackupCatalogue();
 * const newest = (await catalogue.list('demo', 'data')).find((e) => e.outcome === 'good');
 */
export class FileBackupCatalogue implements BackupCatalogue {
  readonly #home: () => string;

  constructor(options: FileBackupCatalogueOptions = {}) {
    this.#home = options.home ?? stepopsHome;
  }

  /** The catalogue file of a target. */
  file(target: string): string {
    return path.join(this.#home(), 'backups', `${fileSafe(target)}.json`);
  }

  async #read(file: string): Promise<CatalogueEntry[]> {
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { entries?: CatalogueEntry[] };
      return Array.isArray(parsed.entries) ? parsed.entries : [];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  put(entry: CatalogueEntry): Promise<void> {
    return this.#update(entry, () => true).then(() => undefined);
  }

  create(entry: CatalogueEntry): Promise<boolean> {
    return this.#update(entry, (existing) => existing === undefined);
  }

  replaceIf(entry: CatalogueEntry, outcome: CatalogueEntry['outcome']): Promise<boolean> {
    return this.#update(entry, (existing) => existing?.outcome === outcome);
  }

  /**
   * Writes `entry` (replacing the one of its backup and run) if `write` says so of the entry there
   * now, under the file's lock; answers whether it wrote.
   */
  #update(entry: CatalogueEntry, write: (existing: CatalogueEntry | undefined) => boolean): Promise<boolean> {
    const file = this.file(entry.target);
    const previous = queues.get(file) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        await mkdir(path.dirname(file), { recursive: true });
        return withLock(`${file}.lock`, async () => {
          const all = await this.#read(file);
          const same = (e: CatalogueEntry) => e.backup === entry.backup && e.runId === entry.runId;
          if (!write(all.find(same))) return false;
          const entries = all.filter((e) => !same(e));
          entries.push(entry);
          entries.sort(newestFirst);
          const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
          await writeFile(temp, `${JSON.stringify({ entries }, null, 2)}\n`);
          await rename(temp, file);
          return true;
        });
      });
    queues.set(file, next);
    return next;
  }

  async get(target: string, backup: string, runId: string): Promise<CatalogueEntry | undefined> {
    await queues.get(this.file(target))?.catch(() => undefined);
    return (await this.#read(this.file(target))).find((e) => e.backup === backup && e.runId === runId);
  }

  async list(target: string, backup?: string): Promise<CatalogueEntry[]> {
    await queues.get(this.file(target))?.catch(() => undefined);
    const entries = await this.#read(this.file(target));
    return entries.filter((e) => backup === undefined || e.backup === backup).sort(newestFirst);
  }
}
