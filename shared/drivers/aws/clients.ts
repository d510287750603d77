/**
 * AWS SDK clients, created once per region and kept at module scope so warm Lambda invocations
 * reuse their connections.
 */
import { BackupClient } from '@aws-sdk/client-backup';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';

const cache = new Map<string, unknown>();

function cached<T>(kind: string, region: string, create: () => T): T {
  const key = `${kind}:${region}`;
  let client = cache.get(key) as T | undefined;
  if (client === undefined) {
    client = create();
    cache.set(key, client);
  }
  return client;
}

/**
 * The region of this process: `AWS_REGION` (set in Lambda), else `AWS_DEFAULT_REGION`.
 *
 * @example
 * const region = defaultRegion() ?? 'eu-west-1';
 */
export function defaultRegion(): string | undefined {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined;
}

function need(region: string | undefined): string {
  const resolved = region ?? defaultRegion();
  if (!resolved) throw new Error('no AWS region: set AWS_REGION or declare the region in the target');
  return resolved;
}

/**
 * The SSM client for a region (cached).
 *
 * @example
 * await ssmClient('eu-west-1').send(new GetParameterCommand({ Name: '/stepops/slack', WithDecryption: true }));
 */
export function ssmClient(region?: string): SSMClient {
  const r = need(region);
  return cached('ssm', r, () => new SSMClient({ region: r }));
}

/** The EC2 client for a region (cached). @example ec2Client('eu-west-1') */
export function ec2Client(region?: string): EC2Client {
  const r = need(region);
  return cached('ec2', r, () => new EC2Client({ region: r }));
}

/** The RDS client for a region (cached). @example rdsClient('eu-west-1') */
export function rdsClient(region?: string): RDSClient {
  const r = need(region);
  return cached('rds', r, () => new RDSClient({ region: r }));
}

/** The SNS client for a region (cached). @example snsClient('eu-west-1') */
export function snsClient(region?: string): SNSClient {
  const r = need(region);
  return cached('sns', r, () => new SNSClient({ region: r }));
}

/** The ELBv2 (ALB/NLB) client for a region (cached). @example elbv2Client('eu-west-1') */
export function elbv2Client(region?: string): ElasticLoadBalancingV2Client {
  const r = need(region);
  return cached('elbv2', r, () => new ElasticLoadBalancingV2Client({ region: r }));
}

/** The DynamoDB client for a region (cached). @example dynamoClient('eu-west-1') */
export function dynamoClient(region?: string): DynamoDBClient {
  const r = need(region);
  return cached('dynamodb', r, () => new DynamoDBClient({ region: r }));
}

/**
 * The region inside an ARN (`arn:aws:sns:eu-west-1:123456789012:alerts` → `eu-west-1`).
 *
 * @example
 * regionOfArn('arn:aws:sns:eu-west-1:123456789012:alerts') // 'eu-west-1'
 */
export function regionOfArn(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

/** The AWS Backup client for a region (cached). @example backupClient('eu-west-1') */
export function backupClient(region?: string): BackupClient {
  const r = need(region);
  return cached('backup', r, () => new BackupClient({ region: r }));
}
