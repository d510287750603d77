/**
 * Local host directory: a `local` host is a directory on this machine.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/load.ts';
import type { HostDirectory, HostRef, HostSelector } from '../ports.ts';

/**
 * Resolves `{ type: 'local', directory }` to one host whose directory is absolute (relative paths
 * are relative to the repository root) and exists (it is created when missing).
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
    const directory = path.resolve(this.#root, selector.directory);
    await mkdir(directory, { recursive: true });
    return [{ kind: 'local', id: `local:${selector.directory}`, directory }];
  }
}
