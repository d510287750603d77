/**
 * Snapshots for targets with local hosts: there are no EBS volumes to snapshot (the target model
 * refuses `snapshotBeforeDeploy.ebs` for them); a declared RDS instance is still snapshotted in AWS.
 */
import { SnapshotFailedError } from '../../errors.ts';
import type { HostRef, PreDeploySnapshot, SnapshotService } from '../ports.ts';

/**
 * @example
 * const snapshots = new LocalSnapshotService(new AwsSnapshotService());
 * await snapshots.snapshotVolumes(localHosts, tags); // throws SnapshotFailedError
 */
export class LocalSnapshotService implements SnapshotService {
  readonly #database: SnapshotService | undefined;

  /** @param database - the service that snapshots databases (RDS), when the target declares one */
  constructor(database?: SnapshotService) {
    this.#database = database;
  }

  async snapshotVolumes(hosts: HostRef[], _tags: Record<string, string>): Promise<string[]> {
    if (hosts.length === 0) return [];
    throw new SnapshotFailedError(
      `EBS snapshots need ec2 hosts; ${hosts.map((h) => h.id).join(', ')} ${hosts.length === 1 ? 'is' : 'are'} local`,
    );
  }

  /** Local hosts have no EBS snapshots: only the database's, listed in AWS. */
  async listPreDeploy(request: {
    target: string;
    region: string;
    rdsInstance?: string;
  }): Promise<PreDeploySnapshot[]> {
    if (!request.rdsInstance || !this.#database?.listPreDeploy) return [];
    return (await this.#database.listPreDeploy(request)).filter((s) => s.kind === 'rds');
  }

  async deletePreDeploy(snapshot: PreDeploySnapshot, target: string): Promise<void> {
    if (!this.#database?.deletePreDeploy) throw new SnapshotFailedError(`cannot delete ${snapshot.id} here`);
    return this.#database.deletePreDeploy(snapshot, target);
  }

  async snapshotDatabase(region: string, dbInstance: string, tags: Record<string, string>): Promise<string> {
    if (!this.#database) throw new SnapshotFailedError(`no database snapshot service for ${dbInstance}`);
    return this.#database.snapshotDatabase(region, dbInstance, tags);
  }
}
