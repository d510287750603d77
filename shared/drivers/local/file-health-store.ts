/**
 * File health state store: one JSON file per target under `<stepopsHome()>/health/`, replaced by a
 * rename under a lock file, with the same version check as the DynamoDB store.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HealthRecord, HealthStateStore } from '../ports.ts';
import { fileSafe, stepopsHome } from './home.ts';

const LOCK_WAIT_MS = 10_000;
/** A lock file older than this was left by a crashed process. */
const STALE_LOCK_MS = 30_000;

function code(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
}

async function withLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.close();
      break;
    } catch (error) {
      if (code(error) !== 'EEXIST') throw error;
      const age = await stat(lockFile).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS) await unlink(lockFile).catch(() => undefined);
      else if (Date.now() - started > LOCK_WAIT_MS) throw new Error(`health state ${lockFile} stays locked`);
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockFile).catch(() => undefined);
  }
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
