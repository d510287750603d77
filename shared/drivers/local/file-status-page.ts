/**
 * Publishes the public status page on this machine: `<stepops home>/status/<where>/index.html`,
 * written whole (a temporary file renamed over the page), so a browser never reads half a page.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileSafe, stepopsHome } from './home.ts';

/**
 * The file of the status page of `where` (`local`, or a stage's name).
 *
 * @example
 * statusPageFile('local') // '/repo/.stepops/status/local/index.html'
 */
export function statusPageFile(where: string, home: string = stepopsHome()): string {
  return path.join(home, 'status', fileSafe(where), 'index.html');
}

/**
 * The local status page publisher.
 *
 * @example
 * await new FileStatusPagePublisher('local').publish(html) // { location: '/repo/.stepops/status/local/index.html' }
 */
export class FileStatusPagePublisher {
  readonly #where: string;
  readonly #home: (() => string) | undefined;

  constructor(where = 'local', home?: () => string) {
    this.#where = where;
    this.#home = home;
  }

  /** Writes the page; returns its file. */
  async publish(html: string): Promise<{ location: string }> {
    const file = statusPageFile(this.#where, this.#home?.() ?? stepopsHome());
    await mkdir(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, html);
    await rename(temporary, file);
    return { location: file };
  }
}
