/**
 * The IAM check can fail: requests the stage's policies must refuse (a command on an instance
 * stepops did not tag, another SSM document, a delete outside a job's prefix, a snapshot listing
 * that names no database, ListTags on an EBS recovery point, …) are denied, and the same requests
 * on what stepops made are allowed. The policies are those the stacks render for the five real
 * targets (filled in), evaluated with @cloud-copilot/iam-simulate.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { backupLeaseKey } from '../../shared/backup/lease.ts';
import { findTarget } from '../../shared/config/registry.ts';
import { leaseKey } from '../../shared/drivers/aws/dynamo-lease-store.ts';
import type { Ec2Target } from '../../stacks/settings.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import { ACCOUNT, REGION as STAGE_REGION } from '../infra/harness.ts';
import { type CheckedCall, checkCalls } from './check.ts';
import type { FunctionPolicies } from './policies.ts';
import { stagePolicies } from './record-calls.ts';
import { knowTags } from './recorder.ts';

const REGION = 'us-east-1';
let policies: FunctionPolicies;

beforeAll(async () => {
  registerFilledTargets();
  const targets = ['ai-chat', 'datizmo', 'docsai', 'shop', 'zmanim'].map((n) => findTarget(n) as Ec2Target);
  policies = await stagePolicies(targets);
  knowTags('i-0aaaaaaaaaaaaaaa1', { 'stepops:target': 'docsai' });
  knowTags('i-0bbbbbbbbbbbbbbb2', { Name: 'someone-elses' });
  knowTags('i-0ccccccccccccccc3', { 'stepops:target': 'intruder' });
  knowTags('snap-0aaaaaaaaaaaaaaa1', { 'stepops:target': 'docsai', 'stepops:backup': 'server-volume' });
  knowTags('snap-0bbbbbbbbbbbbbbb2', { Name: 'hand-made' });
}, 600_000);

/** The reasons the calls are denied (empty when every call is allowed). */
async function denied(functionName: string, client: string, command: string, input: Record<string, unknown>) {
  const call: CheckedCall = { functionName, client, command, input, region: REGION };
  const { denials } = await checkCalls([call], policies);
  return denials.map((d) => `${d.action} ${d.resource}: ${d.reason}`);
}

const send = (instance: string, document = 'AWS-RunShellScript') =>
  denied('send-command', 'SSMClient', 'SendCommand', { DocumentName: document, InstanceIds: [instance] });

describe('ssm:SendCommand', () => {
  it('is allowed with AWS-RunShellScript on an instance tagged with a stage target', async () => {
    expect(await send('i-0aaaaaaaaaaaaaaa1')).toEqual([]);
  });

  it('is denied on an instance without the stepops tag, or tagged with a target the stage does not serve', async () => {
    expect(await send('i-0bbbbbbbbbbbbbbb2')).toEqual([
      expect.stringMatching(
        /^ssm:SendCommand arn:aws:ec2:us-east-1:\d+:instance\/i-0bbbbbbbbbbbbbbb2: ImplicitlyDenied/,
      ),
    ]);
    expect(await send('i-0ccccccccccccccc3')).toEqual([
      expect.stringMatching(/instance\/i-0ccccccccccccccc3: ImplicitlyDenied/),
    ]);
  });

  it('is denied with any other document, even on a tagged instance', async () => {
    expect(await send('i-0aaaaaaaaaaaaaaa1', 'AWS-RunPowerShellScript')).toEqual([
      expect.stringMatching(/document\/AWS-RunPowerShellScript: ImplicitlyDenied/),
    ]);
  });
});

describe('prune-backups', () => {
  const prune = (client: string, command: string, input: Record<string, unknown>) =>
    denied('prune-backups', client, command, input);

  it('deletes a dump under its job prefix whatever its tags (S3 supplies none to DeleteObject), and nothing outside', async () => {
    const bucket = 'docsai-stepops-backups';
    expect(
      await prune('S3Client', 'DeleteObject', { Bucket: bucket, Key: 'dumps/docsai/database/r1.dump' }),
    ).toEqual([]);
    expect(await prune('S3Client', 'DeleteObject', { Bucket: bucket, Key: 'other/file' })).toEqual([
      expect.stringMatching(
        /^s3:DeleteObject arn:aws:s3:::docsai-stepops-backups\/other\/file: ImplicitlyDenied/,
      ),
    ]);
  });

  it("lists RDS snapshots by the job's DB instance, never with no identifier", async () => {
    expect(await prune('RDSClient', 'DescribeDBSnapshots', { DBInstanceIdentifier: 'datizmo-db' })).toEqual(
      [],
    );
    expect(await prune('RDSClient', 'DescribeDBSnapshots', { SnapshotType: 'manual' })).toEqual([
      expect.stringMatching(/^rds:DescribeDBSnapshots \*: ImplicitlyDenied/),
    ]);
  });

  it('deletes an EBS snapshot only when it carries the stepops tag', async () => {
    expect(await prune('EC2Client', 'DeleteSnapshot', { SnapshotId: 'snap-0aaaaaaaaaaaaaaa1' })).toEqual([]);
    expect(await prune('EC2Client', 'DeleteSnapshot', { SnapshotId: 'snap-0bbbbbbbbbbbbbbb2' })).toEqual([
      expect.stringMatching(/snapshot\/snap-0bbbbbbbbbbbbbbb2: ImplicitlyDenied/),
    ]);
  });

  it('cannot read AWS Backup tags of an EBS recovery point (ListTags does not support them)', async () => {
    const point = `arn:aws:ec2:${REGION}::snapshot/snap-0aaaaaaaaaaaaaaa1`;
    expect(await prune('BackupClient', 'ListTags', { ResourceArn: point })).toEqual([
      expect.stringMatching(/^backup:ListTags .*: not supported/),
    ]);
  });
});

describe('start-backup', () => {
  it('snapshots only instances tagged with a stage target', async () => {
    const snapshot = (instance: string) =>
      denied('start-backup', 'EC2Client', 'CreateSnapshots', {
        InstanceSpecification: { InstanceId: instance },
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'stepops:target', Value: 'docsai' }] }],
      });
    expect(await snapshot('i-0aaaaaaaaaaaaaaa1')).toEqual([]);
    expect(await snapshot('i-0bbbbbbbbbbbbbbb2')).toEqual([
      expect.stringMatching(
        new RegExp(`^ec2:CreateSnapshots arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0bbbbbbbbbbbbbbb2`),
      ),
    ]);
  });
});

describe('the backup lease in the state table (dynamodb:LeadingKeys)', () => {
  /** start-backup's PutItem of an item with partition key `pk`, in the stage's region (the table's). */
  const lease = async (pk: string) => {
    const call: CheckedCall = {
      functionName: 'start-backup',
      client: 'DynamoDBClient',
      command: 'PutItem',
      input: { TableName: 'stepops-test-state', Item: { pk: { S: pk }, owner: { S: 'run-1' } } },
      region: STAGE_REGION,
    };
    const { denials } = await checkCalls([call], policies);
    return denials.map((d) => `${d.action} ${d.resource}: ${d.reason}`);
  };

  it("lets start-backup write a backup job's lease item", async () => {
    expect(await lease(leaseKey(backupLeaseKey('docsai', 'database')))).toEqual([]);
  });

  it("denies it a deploy's lease or an approval, by the item's partition key", async () => {
    expect(await lease(leaseKey('docsai'))).toEqual([
      expect.stringMatching(/^dynamodb:PutItem .*table\/stepops-test-state: ImplicitlyDenied/),
    ]);
    expect(await lease('approval#run-1')).toEqual([expect.stringMatching(/ImplicitlyDenied/)]);
  });
});

describe("check-target's states:DescribeExecution (is the run holding a target's lease alive?)", () => {
  /** check-target's DescribeExecution of `machine`'s execution `name`, in the stage's region. */
  const describeExecution = async (machine: string, name = 'docsai-3f2a1b') => {
    const call: CheckedCall = {
      functionName: 'check-target',
      client: 'SFNClient',
      command: 'DescribeExecution',
      input: { executionArn: `arn:aws:states:${STAGE_REGION}:${ACCOUNT}:execution:${machine}:${name}` },
      region: STAGE_REGION,
    };
    const { denials } = await checkCalls([call], policies);
    return denials.map((d) => `${d.action} ${d.resource}: ${d.reason}`);
  };

  it("is allowed on the stage's deploy, recover and maintenance executions", async () => {
    expect(await describeExecution('stepops-test-deploy')).toEqual([]);
    expect(await describeExecution('stepops-test-recover')).toEqual([]);
    expect(await describeExecution('stepops-test-maintenance')).toEqual([]);
  });

  it("is denied on another stage's deploy executions, and on the stage's other state machines", async () => {
    expect(await describeExecution('stepops-prod-deploy')).toEqual([
      expect.stringMatching(
        /^states:DescribeExecution .*:execution:stepops-prod-deploy:.*: ImplicitlyDenied/,
      ),
    ]);
    expect(await describeExecution('stepops-test-health')).toEqual([
      expect.stringMatching(/ImplicitlyDenied/),
    ]);
    expect(await describeExecution('stepops-test-backup')).toEqual([
      expect.stringMatching(/ImplicitlyDenied/),
    ]);
  });
});
