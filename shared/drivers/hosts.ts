/** The host directory of a target: EC2 for `ec2` hosts, the local directory for `local` hosts. */
import type { Target } from '../config/schema.ts';
import { Ec2HostDirectory } from './aws/ec2-host-directory.ts';
import { LocalHostDirectory } from './local/local-host-directory.ts';
import type { DriversOptions } from './options.ts';
import type { HostDirectory } from './ports.ts';

/**
 * Chooses the host directory for a target.
 *
 * @example
 * const hosts = await hostDirectoryFor(target).resolve(hostSelector(target));
 */
export function hostDirectoryFor(target: Target, _options: DriversOptions = {}): HostDirectory {
  return target.hosts.type === 'ec2' ? new Ec2HostDirectory() : new LocalHostDirectory();
}
