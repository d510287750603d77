/**
 * The AWS side of `stepops check`: the target's instances (in its region, running, tagged, with an
 * SSM agent online), the Slack webhook parameters and the dump buckets, each where the stage will
 * look for it. Read-only calls with the operator's credentials.
 *
 * IAM (the operator's): `ec2:DescribeInstances`, `ssm:DescribeInstanceInformation`,
 * `ssm:GetParameters` (without decryption: no `kms:Decrypt`), `s3:ListBucket` (HeadBucket),
 * `s3:GetBucketLocation`, `s3:GetBucketTagging`.
 */
import { DescribeInstancesCommand, type EC2Client, type Filter } from '@aws-sdk/client-ec2';
import {
  GetBucketLocationCommand,
  GetBucketTaggingCommand,
  HeadBucketCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DescribeInstanceInformationCommand,
  GetParametersCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { DumpBackupJob, Target } from '../config/schema.ts';
import { dumpBucketRegion } from '../config/target-values.ts';
import { ec2Client } from '../drivers/aws/ec2-client.ts';
import { ssmClient } from '../drivers/aws/ssm-client.ts';
import type { CheckItem } from './host-script.ts';

/** The clients the checks use, by region (the cached clients by default). */
export interface CheckClients {
  ec2: (region: string) => EC2Client;
  ssm: (region: string) => SSMClient;
  s3: (region: string) => S3Client;
}

const s3Clients = new Map<string, S3Client>();

/** The default clients: the project's cached EC2 and SSM clients, one S3 client per region. */
export const defaultCheckClients: CheckClients = {
  ec2: ec2Client,
  ssm: ssmClient,
  s3: (region) => {
    let client = s3Clients.get(region);
    if (!client) {
      client = new S3Client({ region });
      s3Clients.set(region, client);
    }
    return client;
  },
};

/** An instance as the check found it. */
export interface CheckedInstance {
  id: string;
  state: string;
  tags: Record<string, string>;
  /** `Online`, `ConnectionLost`, `Inactive`; undefined when SSM does not know it. */
  ping?: string;
}

/** The target's instances in its region, with their SSM agent's ping status. */
export async function findInstances(
  hosts: Extract<Target['hosts'], { type: 'ec2' }>,
  clients: Pick<CheckClients, 'ec2' | 'ssm'> = defaultCheckClients,
): Promise<CheckedInstance[]> {
  const filters: Filter[] =
    'instanceIds' in hosts
      ? [{ Name: 'instance-id', Values: hosts.instanceIds }]
      : Object.entries(hosts.tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));
  const found: CheckedInstance[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.ec2(hosts.region).send(
      new DescribeInstancesCommand({
        Filters: filters,
        MaxResults: 1000,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    for (const reservation of page.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        if (!instance.InstanceId || instance.State?.Name === 'terminated') continue;
        found.push({
          id: instance.InstanceId,
          state: instance.State?.Name ?? 'unknown',
          tags: Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
        });
      }
    }
    nextToken = page.NextToken;
  } while (nextToken);
  for (let i = 0; i < found.length; i += 50) {
    const chunk = found.slice(i, i + 50);
    let token: string | undefined;
    do {
      const page = await clients.ssm(hosts.region).send(
        new DescribeInstanceInformationCommand({
          Filters: [{ Key: 'InstanceIds', Values: chunk.map((c) => c.id) }],
          MaxResults: 50,
          ...(token ? { NextToken: token } : {}),
        }),
      );
      for (const info of page.InstanceInformationList ?? []) {
        const instance = chunk.find((c) => c.id === info.InstanceId);
        if (instance && info.PingStatus) instance.ping = info.PingStatus;
      }
      token = page.NextToken;
    } while (token);
  }
  return found;
}

/**
 * The report items of the instances: each declared id found in the region, each instance running,
 * tagged `stepops:target` with the target's name, its SSM agent online.
 *
 * @example
 * instanceItems(target, await findInstances(target.hosts))
 */
export function instanceItems(
  target: Target & { hosts: { type: 'ec2' } },
  instances: readonly CheckedInstance[],
): CheckItem[] {
  const { region } = target.hosts;
  const items: CheckItem[] = [];
  const tagFix = (id: string) =>
    `aws ec2 create-tags --region ${region} --resources ${id} --tags Key=stepops:target,Value=${target.name}`;
  if ('instanceIds' in target.hosts) {
    for (const id of target.hosts.instanceIds) {
      if (!instances.some((i) => i.id === id)) {
        items.push({
          host: id,
          name: 'instance',
          status: 'fail',
          detail: `no instance ${id} in ${region}`,
          fix: `correct hosts.instanceIds, or hosts.region if the instance is in another region`,
        });
      }
    }
  } else if (instances.length === 0) {
    const tags = Object.entries(target.hosts.tags).map(([k, v]) => `${k}=${v}`);
    items.push({
      name: 'instances',
      status: 'fail',
      detail: `no instance tagged ${tags.join(', ')} in ${region}`,
      fix: `tag the target's instances: aws ec2 create-tags --region ${region} --resources <instance ids> --tags ${Object.entries(
        target.hosts.tags,
      )
        .map(([k, v]) => `Key=${k},Value=${v}`)
        .join(' ')}`,
    });
  }
  for (const instance of instances) {
    const host = instance.id;
    items.push(
      instance.state === 'running'
        ? { host, name: 'instance', status: 'pass', detail: `running in ${region}` }
        : {
            host,
            name: 'instance',
            status: 'fail',
            detail: `${instance.state}, not running`,
            fix: `aws ec2 start-instances --region ${region} --instance-ids ${host}`,
          },
    );
    const tag = instance.tags['stepops:target'];
    items.push(
      tag === target.name
        ? { host, name: 'stepops:target tag', status: 'pass', detail: `stepops:target=${tag}` }
        : {
            host,
            name: 'stepops:target tag',
            status: 'fail',
            detail:
              tag === undefined
                ? 'no stepops:target tag: the stage may send it no command'
                : `stepops:target=${tag}, not ${target.name}`,
            fix: tagFix(host),
          },
    );
    if (instance.state !== 'running') continue;
    items.push(
      instance.ping === 'Online'
        ? { host, name: 'SSM agent', status: 'pass', detail: 'online' }
        : {
            host,
            name: 'SSM agent',
            status: 'fail',
            detail:
              instance.ping === undefined
                ? 'not registered with Systems Manager'
                : `its SSM agent is ${instance.ping}`,
            fix: 'run the SSM agent (sudo systemctl enable --now amazon-ssm-agent) and give the instance a profile with AmazonSSMManagedInstanceCore; it needs a route to the ssm, ssmmessages and ec2messages endpoints',
          },
    );
  }
  return items;
}

/**
 * The parameters of `names` that do not exist in `region` (read without decryption: a SecureString
 * comes back encrypted, and no `kms:Decrypt` is needed), 10 names per GetParameters call.
 *
 * @example
 * await missingParameters(['/stepops/prod/slack-webhook-url'], 'eu-west-1') // [] when it exists
 */
export async function missingParameters(
  names: readonly string[],
  region: string,
  client: (region: string) => SSMClient = ssmClient,
): Promise<string[]> {
  const missing: string[] = [];
  const unique = [...new Set(names)];
  for (let i = 0; i < unique.length; i += 10) {
    const chunk = unique.slice(i, i + 10);
    const answer = await client(region).send(
      new GetParametersCommand({ Names: chunk, WithDecryption: false }),
    );
    missing.push(...(answer.InvalidParameters ?? []));
  }
  return missing;
}

/** The Slack webhook parameter a stage's alerts use unless a target names its own (as the stacks name it). */
export function stageSlackParameter(stage: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.STEPOPS_SLACK_WEBHOOK_PARAMETER ?? `/stepops/${stage}/slack-webhook-url`;
}

/**
 * The report items of the Slack webhook parameters: the target's own (it must exist) and the
 * stage's (its alerts' webhook, or the fallback of the target's), in the stage's region, where the
 * forwarder reads them.
 */
export async function slackItems(
  target: Target,
  stage: { name: string; region: string; env?: NodeJS.ProcessEnv },
  client: (region: string) => SSMClient = ssmClient,
): Promise<CheckItem[]> {
  const own = target.alerts.slackWebhookParameter;
  const stageParameter = stageSlackParameter(stage.name, stage.env);
  const missing = await missingParameters([...(own ? [own] : []), stageParameter], stage.region, client);
  const create = (name: string) =>
    `aws ssm put-parameter --region ${stage.region} --type SecureString --name ${name} --value <the Slack incoming-webhook URL>`;
  const items: CheckItem[] = [];
  if (own) {
    items.push(
      missing.includes(own)
        ? {
            name: 'Slack webhook parameter',
            status: 'fail',
            detail: `${own} (alerts.slackWebhookParameter) does not exist in ${stage.region}: alerts would go to the stage's webhook`,
            fix: create(own),
          }
        : { name: 'Slack webhook parameter', status: 'pass', detail: `${own} exists in ${stage.region}` },
    );
  }
  items.push(
    missing.includes(stageParameter)
      ? {
          name: "stage's Slack webhook parameter",
          status: own ? 'warn' : 'fail',
          detail: `${stageParameter} does not exist in ${stage.region}${own ? " (the fallback of the target's own)" : ''}`,
          fix: create(stageParameter),
        }
      : {
          name: "stage's Slack webhook parameter",
          status: 'pass',
          detail: `${stageParameter} exists in ${stage.region}`,
        },
  );
  return items;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** The region a bucket is in, from a refused request's `x-amz-bucket-region` header, else GetBucketLocation. */
async function bucketRegion(
  bucket: string,
  error: unknown,
  clients: Pick<CheckClients, 's3'>,
): Promise<string> {
  const header = (error as { $response?: { headers?: Record<string, string> } }).$response?.headers?.[
    'x-amz-bucket-region'
  ];
  if (header) return header;
  // GetBucketLocation answers from us-east-1 for a bucket of any region; an empty location is us-east-1.
  const location = await clients.s3('us-east-1').send(new GetBucketLocationCommand({ Bucket: bucket }));
  return location.LocationConstraint || 'us-east-1';
}

/**
 * The report item of one dump job's bucket, in the region its S3 calls go to: one that stepops
 * creates must not exist yet (or be the stage's own), one declared `existingBucket` must exist
 * there.
 */
export async function bucketItem(
  target: Target,
  job: DumpBackupJob,
  stage: string,
  clients: Pick<CheckClients, 's3'> = defaultCheckClients,
): Promise<CheckItem> {
  const region = dumpBucketRegion(target, job) as string;
  const name = `dump bucket of backup "${job.name}"`;
  const bucket = job.bucket;
  try {
    await clients.s3(region).send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const status = statusOf(error);
    if (status === 404) {
      return job.existingBucket
        ? {
            name,
            status: 'fail',
            detail: `${bucket} does not exist (existingBucket: true)`,
            fix: `create it in ${region}, or drop existingBucket to let the stage create it`,
          }
        : {
            name,
            status: 'pass',
            detail: `${bucket} does not exist yet: sst deploy creates it in ${region}`,
          };
    }
    if (status === 301 || status === 400) {
      const actual = await bucketRegion(bucket, error, clients);
      return {
        name,
        status: 'fail',
        detail: `${bucket} is in ${actual}, not in ${region} where the job's S3 calls go`,
        fix: `set bucketRegion: '${actual}' on backup "${job.name}"`,
      };
    }
    if (status === 403) {
      return {
        name,
        status: 'fail',
        detail: `${bucket} exists but these credentials may not read it (403): another account's, or no s3:ListBucket`,
        fix: 'choose a bucket name of your own, or grant access',
      };
    }
    throw error;
  }
  if (job.existingBucket) return { name, status: 'pass', detail: `${bucket} exists in ${region}` };
  let tags: Record<string, string> = {};
  try {
    const answer = await clients.s3(region).send(new GetBucketTaggingCommand({ Bucket: bucket }));
    tags = Object.fromEntries((answer.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchTagSet') throw error;
  }
  return tags['stepops:stage'] === stage
    ? { name, status: 'pass', detail: `${bucket} exists in ${region}, created by stage ${stage}` }
    : {
        name,
        status: 'fail',
        detail: `${bucket} exists in ${region} and stage ${stage} did not create it: sst deploy would fail creating it`,
        fix: `declare existingBucket: true on backup "${job.name}" to use it as it is, or choose another name`,
      };
}
