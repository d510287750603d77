/**
 * The local stand-in for the dump bucket: a directory, `<stepopsHome()>/objects/<bucket>/<key>`.
 * An object's tags are a sidecar `<key>.stepops-tags.json`, written when the upload path is handed
 * out (as a presigned URL carries its tags); the host copies the dump to `<key>.partial` and renames
 * it into place, so a failed copy leaves no object.
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../../errors.ts';
import type { ObjectStore, StoredObject } from '../ports.ts';
import { stepopsHome } from './home.ts';

const TAGS_SUFFIX = '.stepops-tags.json';

export interface LocalObjectStoreOptions {
  /** The store's root; `<stepopsHome()>/objects` (read at each call) when omitted. */
  root?: () => string;
}

/**
 * @example
 * const store = new LocalObjectStore();
 * const url = await store.uploadUrl('demo-backups', 'demo/data/20260301T020000Z', tags, 600); // 'file:///…'
 */
export class LocalObjectStore implements ObjectStore {
  readonly #root: () => string;

  constructor(options: LocalObjectStoreOptions = {}) {
    this.#root = options.root ?? (() => path.join(stepopsHome(), 'objects'));
  }

  /** The file of an object. */
  path(bucket: string, key: string): string {
    const base = path.resolve(this.#root(), bucket);
    const file = path.resolve(base, key);
    if (!file.startsWith(`${base}${path.sep}`) || key.includes('..'))
      throw new InvalidInputError(`object key "${key}" leaves the bucket`);
    return file;
  }

  async uploadUrl(bucket: string, key: string, tags: Record<string, string>): Promise<string> {
    const file = this.path(bucket, key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}${TAGS_SUFFIX}`, `${JSON.stringify(tags)}\n`);
    return `file://${file}`;
  }

  async downloadUrl(bucket: string, key: string): Promise<string> {
    return `file://${this.path(bucket, key)}`;
  }

  async #tags(file: string): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(`${file}${TAGS_SUFFIX}`, 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  async head(bucket: string, key: string): Promise<StoredObject | undefined> {
    const file = this.path(bucket, key);
    try {
      const info = await stat(file);
      if (!info.isFile()) return undefined;
      return {
        key,
        sizeBytes: info.size,
        lastModified: info.mtime.toISOString(),
        tags: await this.#tags(file),
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(bucket: string, prefix: string): Promise<StoredObject[]> {
    const base = path.resolve(this.#root(), bucket);
    const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
    const objects: StoredObject[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.endsWith(TAGS_SUFFIX) || entry.name.endsWith('.partial')) continue;
      const key = path.relative(base, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
      if (!key.startsWith(prefix)) continue;
      const found = await this.head(bucket, key);
      if (found) objects.push(found);
    }
    return objects.sort((a, b) => a.key.localeCompare(b.key));
  }

  async remove(bucket: string, key: string): Promise<void> {
    const file = this.path(bucket, key);
    await rm(file, { force: true });
    await rm(`${file}${TAGS_SUFFIX}`, { force: true });
  }

  uri(bucket: string, key: string): string {
    return `file://${this.path(bucket, key)}`;
  }
}
