/**
 * The backup plan: what each backup job of a target does when it runs — the exact script of a dump
 * and where it writes, or the AWS calls of a snapshot — with its schedule and retention. Pure.
 */
import type { BackupJob, Hosts, Target } from '../config/schema.ts';
import { dumpBucketRegion, restoreTestInstanceClass } from '../config/target-values.ts';
import { dumpPrefix } from '../drivers/dump-prefix.ts';
import { InvalidInputError } from '../errors.ts';
import { hostScriptOptions } from '../shell/script.ts';
import { renderDumpScript, spoolPath, TRANSFER_ATTEMPTS, type UploadTarget } from './scripts.ts';

export { dumpPrefix } from '../drivers/dump-prefix.ts';

/** Where an RDS restore test's temporary database goes, as a plan line says it. */
function restoreNetwork(test: {
  dbSubnetGroup?: string | undefined;
  securityGroupIds?: string[] | undefined;
}): string {
  return ` in ${test.dbSubnetGroup ? `DB subnet group ${test.dbSubnetGroup}` : "the default VPC's subnet group"}${test.securityGroupIds ? `, security groups ${test.securityGroupIds.join(', ')}` : ''}`;
}

/** Seconds added to a dump's timeout for the script wrapper itself. */
const SCRIPT_MARGIN_SECONDS = 30;

/** One backup job as it will run. */
export interface BackupJobPlan {
  name: string;
  type: BackupJob['type'];
  schedule: string;
  retention: BackupJob['retention'];
  /** The retention in words, including the rule that the newest good copy is never deleted. */
  retentionRule: string;
  /** What the job does, one action per line (AWS calls, or the script run on the hosts). */
  actions: string[];
  /** Dumps: where this run writes (`$STEPOPS_DUMP_URI`). */
  dumpUri?: string;
  /** Dumps: the script, exactly as the hosts run it. */
  script?: string;
  /** Dumps: seconds the script may run. */
  timeoutSeconds?: number;
}

/** Every backup job of a target, decided before anything runs. */
export interface BackupPlan {
  target: string;
  runId: string;
  jobs: BackupJobPlan[];
}

/** Options of {@link planBackup}. */
export interface BackupPlanOptions {
  /** The time of the run; names the dump and the snapshots. */
  now: Date;
  runId: string;
  /** Plan only this job. */
  job?: string;
  /**
   * Where dumps go instead of S3: a directory (the local engine's stand-in for the bucket). The
   * dump path is then `<dumpRoot>/<target>/<job>/<timestamp>`.
   */
  dumpRoot?: string;
}

/**
 * The compact UTC timestamp that names dumps and snapshots.
 *
 * @example
 * backupTimestamp(new Date('2025-03-01T02:00:00Z')) // '20250301T020000Z'
 */
export function backupTimestamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(/[-:]/g, '');
}

/**
 * The URI one dump run writes to: {@link dumpPrefix} + the run's timestamp.
 *
 * @example
 * dumpUri('shop', { name: 'mongodb', bucket: 'b', prefix: '' }, new Date('2025-03-01T02:00:00Z'))
 * // 's3://b/shop/mongodb/20250301T020000Z'
 */
export function dumpUri(
  target: string,
  job: { name: string; bucket: string; prefix: string },
  now: Date,
  dumpRoot?: string,
): string {
  return `${dumpPrefix(target, job, dumpRoot)}${backupTimestamp(now)}`;
}

/**
 * The name of a snapshot a job creates: lowercase letters, digits and single hyphens, valid as an
 * RDS snapshot identifier and as an EBS `Name` tag.
 *
 * @example
 * snapshotName('datizmo', 'database', new Date('2025-03-01T03:00:00Z')) // 'stepops-datizmo-database-20250301t030000z'
 */
export function snapshotName(target: string, job: string, now: Date): string {
  return `stepops-${target}-${job}-${backupTimestamp(now)}`.toLowerCase().replaceAll(/-{2,}/g, '-');
}

/**
 * The retention of a job in words.
 *
 * @example
 * describeRetention({ days: 7 }) // 'delete copies older than 7 days; never the newest good copy'
 */
export function describeRetention(retention: BackupJob['retention']): string {
  const parts: string[] = [];
  if (retention.days !== undefined) parts.push(`older than ${retention.days} days`);
  if (retention.count !== undefined) parts.push(`beyond the newest ${retention.count}`);
  const rule = retention.days !== undefined && retention.count !== undefined ? ' and ' : '';
  const calendar = (['daily', 'weekly', 'monthly'] as const)
    .filter((unit) => retention[unit] !== undefined)
    .map((unit) => `${retention[unit]} ${unit}`);
  const keeping = calendar.length ? ` (keeping the newest of ${calendar.join(', ')})` : '';
  return `delete copies ${parts.join(rule)}${keeping}; never the newest good copy`;
}

/**
 * The hosts a job acts on, in words.
 *
 * @example
 * describeHosts({ type: 'local', directory: '.stepops/demo/host' }) // 'the local host .stepops/demo/host'
 */
export function describeHosts(hosts: Hosts): string {
  if (hosts.type === 'local') return `the local host ${hosts.directory}`;
  if ('instanceIds' in hosts) return `instances ${hosts.instanceIds.join(', ')} in ${hosts.region}`;
  const tags = Object.entries(hosts.tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `instances tagged ${tags} in ${hosts.region}`;
}

function hostsRegionOf(target: Target): string | undefined {
  return target.hosts.type === 'ec2' ? target.hosts.region : undefined;
}

function tagsText(target: string, job: string, runId: string): string {
  return `stepops:target=${target}, stepops:job=${job}, stepops:run=${runId}`;
}

/**
 * Plans one backup job.
 *
 * @example
 * planBackupJob(target, target.backup![0]!, { now: new Date(), runId: 'run-1' });
 */
export function planBackupJob(target: Target, job: BackupJob, options: BackupPlanOptions): BackupJobPlan {
  const base = {
    name: job.name,
    type: job.type,
    schedule: job.schedule,
    retention: job.retention,
    retentionRule: describeRetention(job.retention),
  };
  const tags = tagsText(target.name, job.name, options.runId);
  const name = snapshotName(target.name, job.name, options.now);
  const prune = `prune: ${describeRetention(job.retention)} (only copies tagged stepops:target=${target.name}, stepops:job=${job.name})`;
  switch (job.type) {
    case 'ebs-snapshot':
      return {
        ...base,
        actions: [
          `resolve ${describeHosts(target.hosts)} (ec2:DescribeInstances)`,
          target.hosts.type === 'local'
            ? `copy the host directory (cp -a), the local stand-in for an EBS snapshot, tags ${tags}`
            : job.volumes
              ? `ec2:CreateSnapshot of ${job.volumes.join(', ')}, Name=${name}, tags ${tags}`
              : `ec2:CreateSnapshots of every attached EBS volume of each instance, Name=${name}, tags ${tags}`,
          'wait until the snapshots are "completed" (ec2:DescribeSnapshots)',
          `${prune} (ec2:DeleteSnapshot)`,
        ],
      };
    case 'rds-snapshot':
      return {
        ...base,
        actions: [
          job.dbCluster
            ? `rds:CreateDBClusterSnapshot of DB cluster ${job.dbCluster} in ${job.region} as ${name}, tags ${tags}`
            : `rds:CreateDBSnapshot of DB instance ${job.dbInstance} in ${job.region} as ${name}, tags ${tags}`,
          'wait until the snapshot is "available" (rds:DescribeDBSnapshots)',
          `${prune} (rds:DeleteDBSnapshot; automated snapshots are left to RDS)`,
          ...(job.restoreTest
            ? [
                job.dbCluster
                  ? `restore test ${job.restoreTest.schedule}: rds:RestoreDBClusterFromSnapshot (${job.restoreTest.engine}) and rds:CreateDBInstance of a temporary ${restoreTestInstanceClass(job)} instance${restoreNetwork(job.restoreTest)}, wait until "available", rds:DeleteDBInstance then rds:DeleteDBCluster`
                  : `restore test ${job.restoreTest.schedule}: rds:RestoreDBInstanceFromDBSnapshot to a temporary ${restoreTestInstanceClass(job)} instance${restoreNetwork(job.restoreTest)}, wait until "available", rds:DeleteDBInstance`,
              ]
            : []),
        ],
      };
    case 'aws-backup': {
      const resources = job.resourceArns?.length
        ? job.resourceArns.join(', ')
        : `the EC2 instances of ${describeHosts(target.hosts)}`;
      return {
        ...base,
        actions: [
          `backup:StartBackupJob into vault ${job.vault} with role ${job.iamRoleArn} for ${resources}, tags ${tags}` +
            (job.retention.days !== undefined ? `, Lifecycle.DeleteAfterDays=${job.retention.days}` : ''),
          'wait until each job is "COMPLETED" (backup:DescribeBackupJob)',
          `${prune} (backup:DeleteRecoveryPoint)`,
        ],
      };
    }
    case 'dump': {
      const uri = dumpUri(target.name, job, options.now, options.dumpRoot);
      const key = uri.replace(/^s3:\/\/[^/]+\//, '');
      const tagging = new URLSearchParams({
        'stepops:target': target.name,
        'stepops:backup': job.name,
        'stepops:run': options.runId,
      }).toString();
      const local = target.hosts.type === 'local' || options.dumpRoot !== undefined;
      const bucketRegion = dumpBucketRegion(target, job);
      const upload: UploadTarget = local
        ? { kind: 'file', path: uri }
        : job.awsCli
          ? {
              kind: 'aws-cli',
              bucket: job.bucket,
              key,
              tagging,
              ...(bucketRegion ? { region: bucketRegion } : {}),
            }
          : { kind: 'spool', path: spoolPath(target.name, job.name, options.runId) };
      const script = renderDumpScript(job, {
        target: target.name,
        runId: options.runId,
        uri,
        upload,
        secrets: local
          ? { kind: 'directory', path: '$STEPOPS_HOME/parameters' }
          : { kind: 'ssm', region: hostsRegionOf(target) },
        ...hostScriptOptions(target.hosts),
      });
      const needs = local
        ? 'bash, sha256sum'
        : job.awsCli
          ? 'curl-free: the AWS CLI (uploads with aws s3 cp) and sha256sum'
          : `curl and sha256sum (no AWS CLI: the upload is a presigned PUT made at run time)${Object.keys(job.secrets).length ? '; the AWS CLI to read the secrets' : ''}`;
      return {
        ...base,
        actions: [
          `run the dump script on the first host of ${describeHosts(target.hosts)}; it writes $STEPOPS_DUMP_FILE`,
          ...Object.entries(job.secrets).map(
            ([env, parameter]) => `read ${env} on the host from SSM SecureString ${parameter} (never logged)`,
          ),
          ...(local || job.awsCli
            ? [
                `check the dump is not empty, record its SHA-256 and size, upload it to ${uri}${bucketRegion && !local ? ` (bucket in ${bucketRegion})` : ''} (retried ${TRANSFER_ATTEMPTS} times)`,
              ]
            : [
                `check the dump is not empty, record its SHA-256 and size, keep it in the host's spool directory`,
                `once the dump is done: presign a PUT to ${uri} in ${bucketRegion} (the bucket's region), valid only for the upload's attempts, and send the upload command (checks the SHA-256, uploads with curl, retried ${TRANSFER_ATTEMPTS} times, deletes the spooled dump)`,
              ]),
          `the host needs: ${needs}`,
          `record it in the catalogue; good only when the object has the size the host reported`,
          `${prune.replace(/ \(only copies.*\)$/, '')} (objects under ${dumpPrefix(target.name, job, options.dumpRoot)} tagged by stepops)`,
          ...(job.restoreTest
            ? [
                `restore test ${job.restoreTest.schedule}: fetch the newest good dump, check its SHA-256, restore it into scratch, run the check`,
              ]
            : []),
        ],
        dumpUri: uri,
        script,
        timeoutSeconds: job.timeout + SCRIPT_MARGIN_SECONDS,
      };
    }
  }
}

/**
 * Plans the backups of a target: for each job, what runs, its schedule and its retention.
 *
 * @example
 * const plan = planBackup(findTarget('shop'), { now: new Date(), runId: 'run-1' });
 * plan.jobs[0]?.script; // the mongodump script with STEPOPS_DUMP_URI set
 * @throws InvalidInputError when the target has no backups, or no job of the given name
 */
export function planBackup(target: Target, options: BackupPlanOptions): BackupPlan {
  const jobs = target.backup ?? [];
  if (jobs.length === 0) throw new InvalidInputError(`target "${target.name}" has no backup jobs`);
  const selected = options.job === undefined ? jobs : jobs.filter((j) => j.name === options.job);
  if (selected.length === 0) {
    throw new InvalidInputError(
      `target "${target.name}" has no backup job "${options.job}" (jobs: ${jobs.map((j) => j.name).join(', ')})`,
    );
  }
  return {
    target: target.name,
    runId: options.runId,
    jobs: selected.map((job) => planBackupJob(target, job, options)),
  };
}
