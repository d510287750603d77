import { dumpBucketRegion, restoreTestInstanceClass } from '../../config/target-values.ts';
import { hostSelector } from '../../drivers/options.ts';
import { InvalidInputError } from '../../errors.ts';
import { hostScriptOptions } from '../../shell/script.ts';
import type { JobInput, RestoreHandle } from '../contracts.ts';
import type { BackupDeps } from '../deps.ts';
import { RestoreTestFailedError } from '../errors.ts';
import { newestGoodEntry } from '../retention.ts';
import { type DownloadSource, renderRestoreTestScript } from '../scripts.ts';
import { copyTags, jobOf, restoreTestInstanceId, runTime } from './common.ts';

/** How far back a retried restore-test start looks for the command it sent. */
const RESTORE_TEST_IDEMPOTENCY_MS = 3_600_000;

/**
 * Starts the restore test of a job's newest good copy: the dump fetched and restored into scratch
 * on the first host, its check run; or the RDS snapshot restored to a temporary instance.
 *
 * @example
 * const handle = await startRestoreTestStep({ target: 'docsai', runId, job: { name: 'database', type: 'dump' } }, deps);
 * @throws RestoreTestFailedError when the job has no good copy to test
 */
export async function startRestoreTestStep(input: JobInput, deps: BackupDeps): Promise<RestoreHandle> {
  const target = deps.findTarget(input.target);
  const job = jobOf(target, input.job.name);
  const drivers = deps.drivers(target);
  const entries = await drivers.catalogue.list(target.name, job.name);
  const now = deps.now();
  const copy = newestGoodEntry(entries, new Date(now), (e) => job.type !== 'dump' || e.sha256 !== undefined);
  if (!copy) throw new RestoreTestFailedError(`${target.name}/${job.name} has no good copy to restore`);
  if (job.type === 'dump' && job.restoreTest) {
    const hosts = await drivers.hosts.resolve(hostSelector(target));
    const host = hosts[0];
    if (!host) throw new InvalidInputError(`no host of ${target.name} to test the restore on`);
    const key = copy.resources[0]?.id ?? '';
    const region = dumpBucketRegion(target, job);
    let download: DownloadSource;
    const url = await drivers.objects.downloadUrl(job.bucket, key, job.restoreTest.timeout + 600);
    if (host.kind === 'local') download = { kind: 'file', path: url.replace(/^file:\/\//, '') };
    else if (job.awsCli)
      download = { kind: 'aws-cli', bucket: job.bucket, key, ...(region ? { region } : {}) };
    else download = { kind: 'presigned', url };
    const script = renderRestoreTestScript(job, {
      target: target.name,
      runId: input.runId,
      copyRunId: copy.runId,
      uri: copy.location,
      sha256: copy.sha256 as string,
      download,
      secrets: drivers.secrets,
      ...hostScriptOptions(target.hosts),
    });
    const handle = await drivers.commands.send({
      hosts: [host],
      script,
      timeoutSeconds: job.restoreTest.timeout * 2 + 120,
      comment: `stepops restore test ${target.name} ${job.name}`.slice(0, 100),
      // A retried invocation finds the restore test the first one started (the script depends on
      // the copy only) instead of restoring it twice.
      idempotency: {
        key: `${input.runId}/restore-test/${job.name}`,
        since: new Date(now - RESTORE_TEST_IDEMPOTENCY_MS).toISOString(),
      },
    });
    return {
      target: target.name,
      runId: input.runId,
      backup: job.name,
      kind: job.type,
      copyRunId: copy.runId,
      startedAt: new Date(now).toISOString(),
      deadline: now + (job.restoreTest.timeout * 2 + 180) * 1000,
      command: { commandId: handle.commandId, hosts: handle.hosts },
    };
  }
  if (job.type === 'rds-snapshot' && job.restoreTest) {
    const snapshotId = copy.resources[0]?.id ?? '';
    // Named after the run and its start: a retried start finds the instance the first one made.
    const instanceId = restoreTestInstanceId(target.name, job.name, input.runId, runTime(input, now));
    const test = job.restoreTest;
    const db = await drivers.scratch.restore({
      region: job.region,
      snapshotId,
      ...(job.dbCluster ? { cluster: true } : {}),
      ...(test.engine ? { engine: test.engine } : {}),
      instanceId,
      instanceClass: restoreTestInstanceClass(job),
      ...(test.dbSubnetGroup ? { dbSubnetGroup: test.dbSubnetGroup } : {}),
      ...(test.securityGroupIds ? { securityGroupIds: test.securityGroupIds } : {}),
      tags: copyTags(target.name, job.name, input.runId),
    });
    return {
      target: target.name,
      runId: input.runId,
      backup: job.name,
      kind: job.type,
      copyRunId: copy.runId,
      startedAt: new Date(now).toISOString(),
      deadline: now + job.restoreTest.timeout * 1000,
      instance: db,
      phase: 'restoring',
    };
  }
  throw new InvalidInputError(`backup "${job.name}" of ${target.name} declares no restoreTest`);
}
