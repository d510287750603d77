import type { BackupJob } from '../../config/schema.ts';
import { dumpBucketRegion } from '../../config/target-values.ts';
import { hostSelector } from '../../drivers/options.ts';
import { InvalidInputError } from '../../errors.ts';
import { hostScriptOptions } from '../../shell/script.ts';
import type { JobHandle, JobInput } from '../contracts.ts';
import type { BackupDeps } from '../deps.ts';
import { backupLeaseSeconds, takeBackupLease } from '../lease.ts';
import { snapshotName } from '../plan.ts';
import { renderDumpScript, spoolPath, type UploadTarget } from '../scripts.ts';
import { copyTags, dumpKey, jobOf, runTime } from './common.ts';

/** How far back a retried dump start looks for the command the first attempt sent. */
const DUMP_IDEMPOTENCY_MS = 3_600_000;

/** How long a copy may take before a run stops waiting for it. */
const COPY_DEADLINE_MS: Record<BackupJob['type'], number> = {
  'ebs-snapshot': 24 * 3600_000,
  'rds-snapshot': 12 * 3600_000,
  'aws-backup': 12 * 3600_000,
  dump: 0,
};

/**
 * Starts one job: the snapshot or backup job in AWS (or the directory copy), or the dump command
 * on the first host. Returns the handle the poll and record steps read.
 *
 * @example
 * const handle = await startBackupStep({ target: 'docsai', runId, job: { name: 'database', type: 'dump' } }, deps);
 */
export async function startBackupStep(input: JobInput, deps: BackupDeps): Promise<JobHandle> {
  const target = deps.findTarget(input.target);
  const job = jobOf(target, input.job.name);
  const drivers = deps.drivers(target);
  const now = new Date(deps.now());
  const tags = copyTags(target.name, job.name, input.runId);
  const base = {
    target: target.name,
    runId: input.runId,
    backup: job.name,
    kind: job.type,
    startedAt: now.toISOString(),
  };
  const name = snapshotName(target.name, job.name, now);
  const deadline =
    now.getTime() + (job.type === 'dump' ? (job.timeout + 180) * 1000 : COPY_DEADLINE_MS[job.type]);
  // One run at a time per job: taken before anything starts.
  const leaseSeconds = backupLeaseSeconds(deadline, now.getTime());
  await takeBackupLease(drivers.leases, target, job.name, input.runId, leaseSeconds);
  switch (job.type) {
    case 'ebs-snapshot': {
      const hosts = job.volumes ? [] : await drivers.hosts.resolve(hostSelector(target));
      const region = target.hosts.type === 'ec2' ? target.hosts.region : undefined;
      const copy = await drivers.copies.start({
        kind: 'ebs-snapshot',
        hosts,
        ...(job.volumes ? { volumes: job.volumes } : {}),
        ...(region ? { region } : {}),
        tags: { ...tags, Name: name },
        description: `stepops ${target.name} ${job.name} ${input.runId}`.slice(0, 255),
      });
      return { ...base, deadline, copy };
    }
    case 'rds-snapshot': {
      const copy = await drivers.copies.start({
        kind: 'rds-snapshot',
        region: job.region,
        ...(job.dbInstance ? { dbInstance: job.dbInstance } : {}),
        ...(job.dbCluster ? { dbCluster: job.dbCluster } : {}),
        snapshotId: name,
        tags,
      });
      return { ...base, deadline, copy };
    }
    case 'aws-backup': {
      let resourceArns = job.resourceArns ?? [];
      const region = target.hosts.type === 'ec2' ? target.hosts.region : undefined;
      if (resourceArns.length === 0) {
        const account = job.iamRoleArn.split(':')[4];
        const hosts = await drivers.hosts.resolve(hostSelector(target));
        resourceArns = hosts.flatMap((h) =>
          h.kind === 'ec2' ? [`arn:aws:ec2:${h.region}:${account}:instance/${h.id}`] : [],
        );
      }
      if (!region || resourceArns.length === 0) {
        throw new InvalidInputError(`backup "${job.name}" of ${target.name} has no resource to back up`);
      }
      const copy = await drivers.copies.start({
        kind: 'aws-backup',
        region,
        vault: job.vault,
        iamRoleArn: job.iamRoleArn,
        resourceArns,
        tags,
        ...(job.retention.days ? { deleteAfterDays: job.retention.days } : {}),
        idempotencyToken: `${target.name}-${job.name}-${input.runId}`,
      });
      return { ...base, deadline, copy };
    }
    case 'dump': {
      const hosts = await drivers.hosts.resolve(hostSelector(target));
      const host = hosts[0];
      if (!host) throw new InvalidInputError(`no host of ${target.name} to dump from`);
      // Named after the run's start, not the clock: a retried start writes the same object.
      const key = dumpKey(target.name, job, runTime(input, now.getTime()), input.runId);
      const expires = job.timeout + 600;
      const region = dumpBucketRegion(target, job);
      const tagging = new URLSearchParams(tags).toString();
      let upload: UploadTarget;
      let spool: string | undefined;
      if (host.kind === 'local') {
        const url = await drivers.objects.uploadUrl(job.bucket, key, tags, expires);
        upload = { kind: 'file', path: url.replace(/^file:\/\//, '') };
      } else if (job.awsCli) {
        upload = { kind: 'aws-cli', bucket: job.bucket, key, tagging, ...(region ? { region } : {}) };
      } else {
        // No URL yet: it is presigned when the dump is done, for the upload command only.
        spool = spoolPath(target.name, job.name, input.runId);
        upload = { kind: 'spool', path: spool };
      }
      const uri = drivers.objects.uri(job.bucket, key);
      const script = renderDumpScript(job, {
        target: target.name,
        runId: input.runId,
        uri,
        upload,
        secrets: drivers.secrets,
        ...hostScriptOptions(target.hosts),
      });
      const handle = await drivers.commands.send({
        hosts: [host],
        script,
        timeoutSeconds: job.timeout + 120,
        comment: `stepops backup ${target.name} ${job.name}`.slice(0, 100),
        // A retried invocation (its answer lost) finds the dump the first one started instead of
        // dumping twice.
        idempotency: {
          key: `${input.runId}/backup/${job.name}`,
          since: new Date(now.getTime() - DUMP_IDEMPOTENCY_MS).toISOString(),
        },
      });
      return {
        ...base,
        deadline,
        command: { commandId: handle.commandId, hosts: handle.hosts },
        object: { bucket: job.bucket, key, uri },
        ...(spool ? { upload: { spool, phase: 'dump' as const } } : {}),
      };
    }
  }
}
