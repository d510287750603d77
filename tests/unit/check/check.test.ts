/**
 * `stepops check`: what a target asks of its hosts (read from its scripts), the AWS side (instances,
 * Slack parameters, dump buckets) with aws-sdk-client-mock on exact inputs, and `validate --stage`'s
 * Slack parameter check.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  GetBucketLocationCommand,
  GetBucketTaggingCommand,
  HeadBucketCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DescribeInstanceInformationCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { validate } from '../../../cli/commands/validate.ts';
import {
  bucketItem,
  findInstances,
  instanceItems,
  slackItems,
  stageSlackParameter,
} from '../../../shared/check/aws.ts';
import { scriptCommands } from '../../../shared/check/commands.ts';
import { hostNeeds } from '../../../shared/check/needs.ts';
import { parseTarget } from '../../../shared/config/load.ts';
import { findTarget, registerTarget } from '../../../shared/config/registry.ts';
import type { DumpBackupJob, Target } from '../../../shared/config/schema.ts';
import { stageSettings } from '../../../stacks/settings.ts';
import { awsError } from '../../fakes/common.ts';
import { filledTarget } from '../../fixtures/filled-targets.ts';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const s3 = mockClient(S3Client);
const clients = {
  ec2: (region: string) => new EC2Client({ region }),
  ssm: (region: string) => new SSMClient({ region }),
  s3: (region: string) => new S3Client({ region }),
};

afterEach(() => {
  ec2.reset();
  ssm.reset();
  s3.reset();
});

function ec2Target(extra: Record<string, unknown> = {}): Target {
  return parseTarget(
    {
      name: 'app',
      description: 'app',
      hosts: {
        type: 'ec2',
        region: 'eu-west-1',
        tags: { 'stepops:target': 'app' },
        user: 'ubuntu',
        workingDirectory: '/srv/app',
      },
      ...extra,
    },
    'app.ts',
  );
}

describe('the commands a script runs', () => {
  it('finds programs in command position, not in arguments, strings, patterns or here-documents', () => {
    const script = `set -e
out=$(pg_dump --clean | gzip -c)
if ! command -v restic >/dev/null; then echo "no restic; run apt-get"; fi
case "$x" in
  localhost | 127.0.0.1) docker ps ;;
  *) timeout 5 curl -fsS http://x ;;
esac
cat <<EOF
rm -rf / is text here
EOF
helper() { jq .; }
helper
read -r a < <(awk '{print}' /proc/meminfo)
env FOO=1 nice -n 5 sha256sum file 2>/dev/null`;
    expect(scriptCommands(script).programs).toEqual([
      'pg_dump',
      'gzip',
      'docker',
      'timeout',
      'curl',
      'cat',
      'jq',
      'awk',
      'env',
      'nice',
      'sha256sum',
    ]);
  });

  it('lists literal sudo commands with their user, and leaves out those with run-time words', () => {
    const found = scriptCommands(`sudo systemctl restart -- 'api'
sudo -n -u postgres createdb "$name"
if sudo -n -u postgres true 2>/dev/null; then :; fi
sudo -l`);
    expect(found.sudo).toEqual([
      { argv: ['systemctl', 'restart', '--', 'api'] },
      { runAs: 'postgres', argv: ['true'] },
    ]);
  });

  it("derives zmanim's needs from its model: scripts, runbooks, dumps and stepops' wrapper", () => {
    const needs = hostNeeds(findTarget('zmanim'));
    const programs = needs.programs.map((p) => p.program);
    for (const p of ['git', 'go', 'systemctl', 'pg_dump', 'restic', 'psql', 'createdb', 'aws', 'redis-cli'])
      expect(programs).toContain(p);
    expect(programs).not.toContain('create_scratch');
    expect(needs.wrapperPrograms.map((p) => p.program)).toEqual([
      'timeout',
      'mktemp',
      'sudo',
      'base64',
      'sha256sum',
      'aws',
    ]);
    expect(needs.sudo).toContainEqual({
      argv: ['systemctl', 'restart', '--', 'zmanim-api'],
      usedBy: [
        'recovery.restart-api.restart-api',
        'recovery.redis-failure.restart-api',
        'recovery.postgresql-failure.restart-api',
      ],
    });
    // The scratch-database recipe's sudo -u postgres is its fallback, reported as the scratch check.
    expect(needs.sudo.some((s) => s.runAs === 'postgres')).toBe(false);
    expect(needs.scratchDatabases).toEqual([{ backup: 'database', role: 'zmanim' }]);
  });
});

describe('the instances', () => {
  it('reads them by their selecting tags, with their SSM ping status, and reports each', async () => {
    // Prepare
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-0000000000000000a',
              State: { Name: 'running' },
              Tags: [{ Key: 'stepops:target', Value: 'app' }],
            },
            { InstanceId: 'i-0000000000000000b', State: { Name: 'stopped' }, Tags: [] },
          ],
        },
      ],
    });
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [{ InstanceId: 'i-0000000000000000a', PingStatus: 'ConnectionLost' }],
    });
    const target = ec2Target() as Target & { hosts: { type: 'ec2' } };

    // Act
    const items = instanceItems(target, await findInstances(target.hosts as never, clients));

    // Assess
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toEqual({
      Filters: [{ Name: 'tag:stepops:target', Values: ['app'] }],
      MaxResults: 1000,
    });
    expect(ssm.commandCalls(DescribeInstanceInformationCommand)[0]?.args[0].input).toEqual({
      Filters: [{ Key: 'InstanceIds', Values: ['i-0000000000000000a', 'i-0000000000000000b'] }],
      MaxResults: 50,
    });
    expect(items.map((i) => [i.host, i.name, i.status])).toEqual([
      ['i-0000000000000000a', 'instance', 'pass'],
      ['i-0000000000000000a', 'stepops:target tag', 'pass'],
      ['i-0000000000000000a', 'SSM agent', 'fail'],
      ['i-0000000000000000b', 'instance', 'fail'],
      ['i-0000000000000000b', 'stepops:target tag', 'fail'],
    ]);
    expect(items[2]?.detail).toBe('its SSM agent is ConnectionLost');
    expect(items[4]?.fix).toBe(
      'aws ec2 create-tags --region eu-west-1 --resources i-0000000000000000b --tags Key=stepops:target,Value=app',
    );
  });

  it('fails a declared instance id that is not in the region', () => {
    const target = parseTarget(
      {
        name: 'app',
        description: 'app',
        hosts: {
          type: 'ec2',
          region: 'eu-west-1',
          instanceIds: ['i-0000000000000000c'],
          workingDirectory: '/srv/app',
        },
      },
      'app.ts',
    ) as Target & { hosts: { type: 'ec2' } };
    expect(instanceItems(target, [])).toEqual([
      expect.objectContaining({
        host: 'i-0000000000000000c',
        status: 'fail',
        detail: 'no instance i-0000000000000000c in eu-west-1',
      }),
    ]);
  });
});

describe("the stage's resources", () => {
  it('reads the Slack parameters without decryption, in the stage region, and fails a missing one', async () => {
    // Prepare
    ssm.on(GetParametersCommand).resolves({
      Parameters: [{ Name: '/stepops/prod/slack-webhook-url' }],
      InvalidParameters: ['/app/slack'],
    });
    const target = ec2Target({ alerts: { slackWebhookParameter: '/app/slack' } });

    // Act
    const items = await slackItems(target, { name: 'prod', region: 'us-east-2', env: {} }, clients.ssm);

    // Assess
    const call = ssm.commandCalls(GetParametersCommand)[0];
    expect(call?.args[0].input).toEqual({
      Names: ['/app/slack', '/stepops/prod/slack-webhook-url'],
      WithDecryption: false,
    });
    const client = call?.thisValue as SSMClient;
    expect(await client.config.region()).toBe('us-east-2');
    expect(items.map((i) => [i.name, i.status])).toEqual([
      ['Slack webhook parameter', 'fail'],
      ["stage's Slack webhook parameter", 'pass'],
    ]);
    expect(items[0]?.detail).toBe(
      "/app/slack (alerts.slackWebhookParameter) does not exist in us-east-2: alerts would go to the stage's webhook",
    );
  });

  it("names the stage's Slack parameter as the stacks do", () => {
    registerTarget(filledTarget('zmanim'));
    for (const env of [{}, { STEPOPS_SLACK_WEBHOOK_PARAMETER: '/ops/slack' }]) {
      expect(stageSlackParameter('prod', env)).toBe(
        stageSettings('prod', { ...env, STEPOPS_TARGETS: 'zmanim' }).parameters.slackWebhookUrl,
      );
    }
  });

  const job = (extra: Partial<DumpBackupJob> = {}) =>
    ({ name: 'db', type: 'dump', bucket: 'app-dumps', existingBucket: true, ...extra }) as DumpBackupJob;

  it('fails a bucket in another region than the one its S3 calls go to, naming its region', async () => {
    // Prepare: S3 answers a HeadBucket sent to the wrong region with 301 and x-amz-bucket-region
    s3.on(HeadBucketCommand).rejects(
      awsError('301', '', { status: 301, headers: { 'x-amz-bucket-region': 'us-west-2' } }),
    );

    // Act
    const item = await bucketItem(ec2Target(), job(), 'prod', clients);

    // Assess
    expect(s3.commandCalls(HeadBucketCommand)[0]?.args[0].input).toEqual({ Bucket: 'app-dumps' });
    expect(item).toEqual({
      name: 'dump bucket of backup "db"',
      status: 'fail',
      detail: "app-dumps is in us-west-2, not in eu-west-1 where the job's S3 calls go",
      fix: `set bucketRegion: 'us-west-2' on backup "db"`,
    });
  });

  it('asks GetBucketLocation when the refusal names no region (an empty location is us-east-1)', async () => {
    s3.on(HeadBucketCommand).rejects(awsError('BadRequest', '', { status: 400 }));
    s3.on(GetBucketLocationCommand).resolves({});
    const item = await bucketItem(ec2Target(), job(), 'prod', clients);
    expect(s3.commandCalls(GetBucketLocationCommand)[0]?.args[0].input).toEqual({ Bucket: 'app-dumps' });
    expect(item.detail).toBe("app-dumps is in us-east-1, not in eu-west-1 where the job's S3 calls go");
  });

  it('fails a missing existing bucket; passes a missing one the stage creates', async () => {
    s3.on(HeadBucketCommand).rejects(awsError('NotFound', '', { status: 404 }));
    expect((await bucketItem(ec2Target(), job(), 'prod', clients)).status).toBe('fail');
    expect(await bucketItem(ec2Target(), job({ existingBucket: false }), 'prod', clients)).toEqual(
      expect.objectContaining({
        status: 'pass',
        detail: 'app-dumps does not exist yet: sst deploy creates it in eu-west-1',
      }),
    );
  });

  it('fails a bucket the stage would create that exists and is not its own', async () => {
    s3.on(HeadBucketCommand).resolves({});
    s3.on(GetBucketTaggingCommand).rejects(
      awsError('NoSuchTagSet', 'The TagSet does not exist', { status: 404 }),
    );
    const item = await bucketItem(ec2Target(), job({ existingBucket: false }), 'prod', clients);
    expect(item.status).toBe('fail');
    expect(item.fix).toBe(
      'declare existingBucket: true on backup "db" to use it as it is, or choose another name',
    );
    s3.on(GetBucketTaggingCommand).resolves({ TagSet: [{ Key: 'stepops:stage', Value: 'prod' }] });
    expect((await bucketItem(ec2Target(), job({ existingBucket: false }), 'prod', clients)).status).toBe(
      'pass',
    );
  });
});

describe('validate --stage', () => {
  it("refuses a target whose Slack parameter does not exist in the stage's region, naming both", async () => {
    // Prepare: an ec2 target file with nothing left to fill in
    const dir = mkdtempSync(path.join(tmpdir(), 'stepops-validate-'));
    const file = path.join(dir, 'app.ts');
    writeFileSync(
      file,
      `export default ${JSON.stringify({
        name: 'app',
        description: 'app',
        hosts: {
          type: 'ec2',
          region: 'eu-west-1',
          tags: { 'stepops:target': 'app' },
          workingDirectory: '/srv/app',
        },
        alerts: { slackWebhookParameter: '/app/prod/slack-webhook' },
      })};\n`,
    );
    const out: string[] = [];
    const asked: [string[], string][] = [];

    // Act
    const code = await validate(
      [file],
      { out: (l) => out.push(l), err: (l) => out.push(l) },
      {
        stage: 'prod',
        env: { STEPOPS_REGION: 'eu-central-1' },
        parameters: async (names, region) => {
          asked.push([names, region]);
          return names;
        },
      },
    );

    // Assess
    expect(code).toBe(2);
    expect(asked).toEqual([[['/app/prod/slack-webhook'], 'eu-central-1']]);
    expect(out.join('\n')).toContain(
      'alerts.slackWebhookParameter: SSM parameter /app/prod/slack-webhook does not exist in eu-central-1',
    );
    expect(out).not.toContain('✓ app');
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes when the parameter exists, and calls nothing for a target with values to fill in', async () => {
    const asked: string[][] = [];
    const parameters = async (names: string[]) => {
      asked.push(names);
      return [];
    };
    const out: string[] = [];
    const output = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    expect(await validate(['zmanim'], output, { stage: 'prod', env: {}, parameters })).toBe(2);
    expect(asked).toEqual([]);
  });
});
