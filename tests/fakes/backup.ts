/**
 * A stateful AWS Backup (backup jobs and the recovery points they make, per vault) on
 * aws-sdk-client-mock, answering as the AWS Backup API reference documents:
 *
 * - `StartBackupJob` returns a job id at once; `DescribeBackupJob` reads `CREATED` → `RUNNING` →
 *   `COMPLETED` (with its `RecoveryPointArn`), here one step per read.
 * - The recovery point of an EC2 instance or EBS volume is an EC2 resource: its ARN is
 *   `arn:aws:ec2:<region>::image/ami-…` or `arn:aws:ec2:<region>::snapshot/snap-…` (no account),
 *   and `ListTags` on it fails (ListTags: "When this operation is called and when you include values
 *   of resourceArn that have an ARN other than arn:aws:backup, it may return one of the exceptions
 *   listed below"): here `InvalidParameterValueException`. The point keeps the job's
 *   `RecoveryPointTags` on the EC2 resource.
 * - `DeleteRecoveryPoint` refused for permissions answers HTTP 200 with an empty body, and the
 *   point is not deleted but enters `EXPIRED` (DeleteRecoveryPoint: "When an IAM role's permissions
 *   are insufficient to call this API, the service sends back an HTTP 200 response with an empty
 *   HTTP body, but the recovery point is not deleted. Instead, it enters an EXPIRED state"):
 *   {@link BackupSwitches.deleteDenied}.
 */
import {
  BackupClient,
  DeleteRecoveryPointCommand,
  DescribeBackupJobCommand,
  DescribeRecoveryPointCommand,
  ListRecoveryPointsByBackupVaultCommand,
  ListTagsCommand,
  StartBackupJobCommand,
} from '@aws-sdk/client-backup';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { answer, awsError, CallLog, type Input } from './common.ts';

/** Ids AWS hands out are never reused: one counter for every fake account of the process. */
let serial = 0;

export interface FakeRecoveryPoint {
  arn: string;
  vault: string;
  region: string;
  resourceArn: string;
  status: 'COMPLETED' | 'PARTIAL' | 'DELETING' | 'EXPIRED';
  tags: Record<string, string>;
  creationDate: Date;
  sizeBytes: number;
}

export interface FakeBackupJob {
  id: string;
  vault: string;
  region: string;
  resourceArn: string;
  state: 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED';
  tags: Record<string, string>;
  recoveryPointArn?: string;
  /** Ends FAILED with this message. */
  failsWith?: string;
}

export interface BackupSwitches {
  /** The caller lacks the permissions behind DeleteRecoveryPoint: 200, and the point is EXPIRED. */
  deleteDenied: boolean;
}

export interface FakeBackup {
  mock: AwsClientStub<BackupClient>;
  jobs: Map<string, FakeBackupJob>;
  points: Map<string, FakeRecoveryPoint>;
  switches: BackupSwitches;
  restore(): void;
}

/** Whether a recovery point ARN is AWS Backup's own (ListTags works) or the service's (EC2, EBS). */
function backupOwned(arn: string): boolean {
  return arn.startsWith('arn:aws:backup:');
}

/**
 * Installs the AWS Backup fake.
 *
 * @example
 * const backup = fakeBackup(log, { deleteDenied: true });
 */
export function fakeBackup(log: CallLog = new CallLog(), switches: Partial<BackupSwitches> = {}): FakeBackup {
  const mock = mockClient(BackupClient);
  const jobs = new Map<string, FakeBackupJob>();
  const points = new Map<string, FakeRecoveryPoint>();
  const sw: BackupSwitches = { deleteDenied: false, ...switches };

  const pointArn = (region: string, resourceArn: string): string => {
    serial += 1;
    const n = serial.toString(16).padStart(17, '0');
    if (resourceArn.includes(':instance/')) return `arn:aws:ec2:${region}::image/ami-${n}`;
    if (resourceArn.includes(':volume/')) return `arn:aws:ec2:${region}::snapshot/snap-${n}`;
    return `arn:aws:backup:${region}:123456789012:recovery-point:${n}`;
  };

  mock.on(StartBackupJobCommand).callsFake(
    answer(log, 'backup:StartBackupJob', (input: Input, region) => {
      const existing = [...jobs.values()].find((j) => j.id === input.IdempotencyToken);
      if (existing) return { BackupJobId: existing.id };
      serial += 1;
      const job: FakeBackupJob = {
        id: `job-${serial.toString(16).padStart(8, '0')}`,
        vault: input.BackupVaultName,
        region,
        resourceArn: input.ResourceArn,
        state: 'CREATED',
        tags: { ...(input.RecoveryPointTags ?? {}) },
      };
      jobs.set(job.id, job);
      return { BackupJobId: job.id, CreationDate: new Date() };
    }),
  );

  mock.on(DescribeBackupJobCommand).callsFake(
    answer(log, 'backup:DescribeBackupJob', (input: Input) => {
      const job = jobs.get(input.BackupJobId);
      if (!job)
        throw awsError('ResourceNotFoundException', `Backup job ${input.BackupJobId} not found`, {
          status: 404,
        });
      if (job.state === 'CREATED') job.state = 'RUNNING';
      else if (job.state === 'RUNNING') {
        if (job.failsWith) job.state = 'FAILED';
        else {
          job.state = 'COMPLETED';
          const arn = pointArn(job.region, job.resourceArn);
          job.recoveryPointArn = arn;
          points.set(arn, {
            arn,
            vault: job.vault,
            region: job.region,
            resourceArn: job.resourceArn,
            status: 'COMPLETED',
            tags: { ...job.tags },
            creationDate: new Date(),
            sizeBytes: 8 * 1024 ** 3,
          });
        }
      }
      return {
        BackupJobId: job.id,
        State: job.state,
        ResourceArn: job.resourceArn,
        ...(job.recoveryPointArn
          ? { RecoveryPointArn: job.recoveryPointArn, BackupSizeInBytes: 8 * 1024 ** 3 }
          : {}),
        ...(job.state === 'FAILED' ? { StatusMessage: job.failsWith } : {}),
      };
    }),
  );

  mock.on(ListRecoveryPointsByBackupVaultCommand).callsFake(
    answer(log, 'backup:ListRecoveryPointsByBackupVault', (input: Input, region) => ({
      RecoveryPoints: [...points.values()]
        .filter((p) => p.vault === input.BackupVaultName && p.region === region)
        .map((p) => ({
          RecoveryPointArn: p.arn,
          BackupVaultName: p.vault,
          ResourceArn: p.resourceArn,
          Status: p.status,
          CreationDate: p.creationDate,
          BackupSizeInBytes: p.sizeBytes,
        })),
    })),
  );

  mock.on(DescribeRecoveryPointCommand).callsFake(
    answer(log, 'backup:DescribeRecoveryPoint', (input: Input) => {
      const p = points.get(input.RecoveryPointArn);
      if (!p || p.vault !== input.BackupVaultName) {
        throw awsError('ResourceNotFoundException', `Recovery point ${input.RecoveryPointArn} not found`, {
          status: 404,
        });
      }
      return {
        RecoveryPointArn: p.arn,
        BackupVaultName: p.vault,
        ResourceArn: p.resourceArn,
        Status: p.status,
        CreationDate: p.creationDate,
        BackupSizeInBytes: p.sizeBytes,
      };
    }),
  );

  mock.on(ListTagsCommand).callsFake(
    answer(log, 'backup:ListTags', (input: Input) => {
      const arn = String(input.ResourceArn);
      if (!backupOwned(arn)) {
        throw awsError(
          'InvalidParameterValueException',
          `ListTags is not supported for the resource ${arn}: only resources whose ARN begins with arn:aws:backup`,
        );
      }
      const p = points.get(arn);
      if (!p) throw awsError('ResourceNotFoundException', `${arn} not found`, { status: 404 });
      return { Tags: { ...p.tags } };
    }),
  );

  mock.on(DeleteRecoveryPointCommand).callsFake(
    answer(log, 'backup:DeleteRecoveryPoint', (input: Input) => {
      const p = points.get(input.RecoveryPointArn);
      if (!p || p.vault !== input.BackupVaultName) {
        throw awsError('ResourceNotFoundException', `Recovery point ${input.RecoveryPointArn} not found`, {
          status: 404,
        });
      }
      if (sw.deleteDenied) {
        // 200, empty body: nothing says it failed; the point is EXPIRED, not deleted.
        p.status = 'EXPIRED';
        return {};
      }
      points.delete(p.arn);
      return {};
    }),
  );

  return { mock, jobs, points, switches: sw, restore: () => mock.restore() };
}
