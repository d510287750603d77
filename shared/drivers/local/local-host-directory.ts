/**
 * Local host directory: a `local` host is a directory on this machine.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { HostDirectory, HostRef, HostSelector } from '../ports.ts';

/**
 * Resolves `{ type: 'local', directory }` to one host per directory (a list declares several, in
 * its order), each with an absolute directory that exists (it is created when missing). A relative
 * directory is relative to the directory stepops runs in (the repository whose targets it loads,
 * where its local state lives too), never to where the package is installed.
 *
 * @example
 * // run from /work/shop
 * const [host] = await new LocalHostDirectory().resolve({ type: 'local', directory: 'lab/app' });
 * // { kind: 'local', id: 'local:lab/app', directory: '/work/shop/lab/app' }
 */
export class LocalHostDirectory implements HostDirectory {
  readonly #root: string | undefined;

  /** @param root - directory relative paths are resolved against (the current directory by default) */
  constructor(root?: string) {
    this.#root = root;
  }

  async resolve(selector: HostSelector): Promise<HostRef[]> {
    if (selector.type !== 'local') {
      throw new Error('the local host directory resolves local hosts only; ec2 hosts need the EC2 adapter');
    }
    const root = this.#root ?? process.cwd();
    const declared = Array.isArray(selector.directory) ? selector.directory : [selector.directory];
    const hosts: HostRef[] = [];
    for (const entry of declared) {
      const directory = path.resolve(root, entry);
      await mkdir(directory, { recursive: true });
      hosts.push({ kind: 'local', id: `local:${entry}`, directory });
    }
    return hosts;
  }
}
