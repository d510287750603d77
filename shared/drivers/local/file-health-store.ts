/**
 * File health state store: one JSON file per target under `<stepopsHome()>/health/`, replaced by a
 * rename under the lease store's lock (taken over from a crashed holder by a compare-and-swap, never
 * a delete a slower contender could repeat), with the same version check as the DynamoDB store.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HealthRecord, HealthStateStore } from '../ports.ts';
import { withLock } from './file-lease-store.ts';
import { fileSafe, stepopsHome } from './home.ts';

function code(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
}

/**
 * Health states in files, for local runs.
 *
 * @example
 * const store = new FileHealthStore();
 * await store.write('demo', JSON.stringify(state), 0);
 */
export class FileHealthStore implements HealthStateStore {
  readonly #home: () => string;

  constructor(options: { home?: () => string } = {}) {
    this.#home = options.home ?? stepopsHome;
  }

  async read(target: string): Promise<HealthRecord | undefined> {
    try {
      const record = JSON.parse(await readFile(await this.#file(target), 'utf8')) as HealthRecord;
      return typeof record.version === 'number' && typeof record.body === 'string' ? record : undefined;
    } catch (error) {
      if (code(error) === 'ENOENT' || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  async write(target: string, body: string, expectedVersion: number): Promise<boolean> {
    const file = await this.#file(target);
    return withLock(`${file}.lock`, async () => {
      const current = (await this.read(target))?.version ?? 0;
      if (current !== expectedVersion) return false;
      const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temp, `${JSON.stringify({ version: expectedVersion + 1, body })}\n`);
      await rename(temp, file);
      return true;
    });
  }

  async #file(target: string): Promise<string> {
    const dir = path.join(this.#home(), 'health');
    await mkdir(dir, { recursive: true });
    return path.join(dir, `${fileSafe(target)}.json`);
  }
}
