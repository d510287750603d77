import type { SnapshotService } from '../../drivers/ports.ts';
import { InvalidInputError } from '../../errors.ts';
import type { CreateSnapshotsInput, SnapshotsTaken } from '../contracts.ts';
import type { DeployDeps } from '../deps.ts';
import { decidePreDeployPrune, PRE_DEPLOY_REASON } from '../pre-deploy-retention.ts';

/**
 * create-snapshots: snapshots the hosts' volumes (and the database) before the deploy, tagged with
 * target, run and ref.
 *
 * @example
 * await createSnapshotsStep({ target: 'zmanim', ref: 'v2', runId: 'r1', hosts, snapshot: { enabled: true, ebs: true } }, deps)
 * // { volumeSnapshotIds: ['snap-…'] }
 */
export async function createSnapshotsStep(
  input: CreateSnapshotsInput,
  deps: DeployDeps,
): Promise<SnapshotsTaken> {
  const target = deps.findTarget(input.target);
  const { snapshots } = deps.driversFor(target);
  const tags = {
    'stepops:target': target.name,
    'stepops:run': input.runId,
    'stepops:ref': input.ref,
    [PRE_DEPLOY_REASON.key]: PRE_DEPLOY_REASON.value,
  };
  const volumeSnapshotIds = input.snapshot.ebs ? await snapshots.snapshotVolumes(input.hosts, tags) : [];
  const rds = input.snapshot.rdsInstance;
  const region = target.hosts.type === 'ec2' ? target.hosts.region : process.env.AWS_REGION;
  if (rds && !region) throw new InvalidInputError(`no AWS region for the snapshot of ${rds}: set AWS_REGION`);
  const taken = {
    volumeSnapshotIds,
    ...(rds && region ? { dbSnapshotId: await snapshots.snapshotDatabase(region, rds, tags) } : {}),
  };
  const retention = target.deploy?.snapshotBeforeDeploy?.retention;
  if (!retention || !region) return taken;
  return {
    ...taken,
    pruned: await prunePreDeploySnapshots(target.name, region, rds, retention, snapshots, deps),
  };
}

/**
 * Deletes the pre-deploy snapshots the target's retention no longer keeps (this run's, still being
 * taken, are kept). A failure here never fails the deploy: it is returned, and the next deploy
 * prunes again.
 */
async function prunePreDeploySnapshots(
  target: string,
  region: string,
  rdsInstance: string | undefined,
  retention: { deploys: number; days: number },
  snapshots: SnapshotService,
  deps: DeployDeps,
): Promise<{ deleted: string[]; error?: string }> {
  const deleted: string[] = [];
  if (!snapshots.listPreDeploy || !snapshots.deletePreDeploy) return { deleted };
  try {
    const found = await snapshots.listPreDeploy({ target, region, ...(rdsInstance ? { rdsInstance } : {}) });
    const decision = decidePreDeployPrune(found, target, retention, new Date(deps.now()));
    for (const snapshot of decision.delete) {
      await snapshots.deletePreDeploy(snapshot, target);
      deleted.push(snapshot.id);
    }
    return { deleted };
  } catch (error) {
    return { deleted, error: `pruning the pre-deploy snapshots failed: ${(error as Error).message}` };
  }
}
