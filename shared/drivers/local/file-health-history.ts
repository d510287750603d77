/**
 * File health history: one JSON file per target and finished day under
 * `<stepopsHome()>/health-history/<target>/<YYYY-MM-DD>.json`; days older than 90 are removed
 * when a new day is written.
 */
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HEALTH_HISTORY_DAYS, type HealthHistoryStore } from '../ports.ts';
import { fileSafe, stepopsHome } from './home.ts';

const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.json$/;

/**
 * Health history in files, for local runs.
 *
 * @example
 * await new FileHealthHistory().writeDay('demo', '2026-03-02', body);
 */
export class FileHealthHistory implements HealthHistoryStore {
  readonly #home: () => string;

  constructor(options: { home?: () => string } = {}) {
    this.#home = options.home ?? stepopsHome;
  }

  async writeDay(target: string, day: string, body: string): Promise<void> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`expected a day as YYYY-MM-DD, got "${day}"`);
    const dir = this.#dir(target);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${day}.json`);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, body);
    await rename(temp, file);
    const oldest = new Date(Date.parse(`${day}T00:00:00Z`) - HEALTH_HISTORY_DAYS * 86_400_000)
      .toISOString()
      .slice(0, 10);
    for (const entry of await readdir(dir)) {
      const match = DAY_FILE.exec(entry);
      if (match && match[1]! < oldest) await unlink(path.join(dir, entry)).catch(() => undefined);
    }
  }

  async readDays(target: string, days: readonly string[]): Promise<Record<string, string>> {
    const found: Record<string, string> = {};
    for (const day of days) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) continue;
      const body = await readFile(path.join(this.#dir(target), `${day}.json`), 'utf8').catch(() => undefined);
      if (body !== undefined) found[day] = body;
    }
    return found;
  }

  #dir(target: string): string {
    return path.join(this.#home(), 'health-history', fileSafe(target));
  }
}
