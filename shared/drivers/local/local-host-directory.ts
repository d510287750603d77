/**
 * Local host directory: a `local` host is a directory on this machine.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/load.ts';
import type { HostDirectory, HostRef, HostSelector } from '../ports.ts';

/**
 * Resolves `{ type: 'local', directory }` to one host per directory (a list declares several, in
 * its order), each with an absolute directory (relative paths are relative to the repository root)
 * that exists (it is created when missing).
 *
 * @example
 * const [host] = await new LocalHostDirectory().resolve({ type: 'local', directory: 'lab/app' });
 * // { kind: 'local', id: 'local:lab/app', directory: '/…/stepops/lab/app' }
 */
export class LocalHostDirectory implements HostDirectory {
  readonly #root: string;

  /** @param root - directory relative paths are resolved against (the repository root by default) */
  constructor(root: string = PROJECT_ROOT) {
    this.#root = root;
  }

  async resolve(selector: HostSelector): Promise<HostRef[]> {
    if (selector.type !== 'local') {
      throw new Error('the local host directory resolves local hosts only; ec2 hosts need the EC2 adapter');
    }
    const declared = Array.isArray(selector.directory) ? selector.directory : [selector.directory];
    const hosts: HostRef[] = [];
    for (const entry of declared) {
      const directory = path.resolve(this.#root, entry);
      await mkdir(directory, { recursive: true });
      hosts.push({ kind: 'local', id: `local:${entry}`, directory });
    }
    return hosts;
  }
}
