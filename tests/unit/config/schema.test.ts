import { describe, expect, it } from 'vitest';
import { formatPath } from '../../../shared/config/load.ts';
import { defineTarget, NAME_PATTERN, targetSchema } from '../../../shared/config/schema.ts';
import full from '../../fixtures/targets/full.ts';

type Segment = string | number;

/** A deep copy of the full fixture with one value replaced (or removed, for `undefined`). */
function withValue(path: readonly Segment[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(full) as Record<string, unknown>;
  let node = copy as Record<Segment, unknown>;
  for (const segment of path.slice(0, -1)) node = node[segment] as Record<Segment, unknown>;
  const last = path.at(-1)!;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

function issuesOf(value: unknown): { path: string; message: string }[] {
  const result = targetSchema.safeParse(value);
  return result.success
    ? []
    : result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

describe('targetSchema', () => {
  it('accepts the fixture that uses every field, applying defaults', () => {
    // Prepare
    const minimal = {
      name: 'tiny',
      description: 'x',
      hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: 'x' }, workingDirectory: '/opt/x' },
    };

    // Act
    const parsedFull = targetSchema.parse(full);
    const parsedMinimal = targetSchema.parse(minimal);

    // Assess
    expect(parsedFull.name).toBe('full');
    expect(parsedMinimal.hosts).toMatchObject({ user: 'root' });
    expect(parsedMinimal.alerts).toEqual({});
  });

  it('applies the documented defaults to probes, batches and runbook steps', () => {
    // Prepare
    const target = structuredClone(full);
    target.deploy!.batches = undefined;
    target.health!.probes[0] = { name: 'site', type: 'http', url: 'https://x.example.com/' };

    // Act
    const parsed = targetSchema.parse(target);

    // Assess
    expect(parsed.deploy?.batches).toEqual({ size: '100%', maxErrors: 0 });
    expect(parsed.health?.probes[0]).toMatchObject({
      method: 'GET',
      expectStatus: [200],
      from: 'outside',
      timeout: 10,
    });
    const rds = parsed.recovery?.everything?.steps.find((s) => s.type === 'restore-rds');
    expect(rds).toMatchObject({ snapshot: 'latest', timeout: 3600 });
  });

  // [what, path, bad value, expected issue path, message fragment]
  const rejections: [string, Segment[], unknown, string, string][] = [
    ['name with capitals', ['name'], 'Full', 'name', 'lowercase name'],
    ['name starting with a digit', ['name'], '1full', 'name', 'lowercase name'],
    ['name with a space', ['name'], 'my target', 'name', 'lowercase name'],
    ['missing name', ['name'], undefined, 'name', 'expected a name'],
    ['empty description', ['description'], '  ', 'description', 'one-line description'],
    ['repository without owner', ['repository'], 'full', 'repository', '"owner/name"'],
    ['unknown top-level field', ['deploys'], {}, '', 'deploys'],
    ['hosts of unknown type', ['hosts', 'type'], 'k8s', 'hosts', 'expected { type: "ec2"'],
    ['bad region', ['hosts', 'region'], 'Europe', 'hosts.region', 'AWS region such as "eu-west-1"'],
    ['hosts without type', ['hosts', 'type'], undefined, 'hosts', 'expected { type: "ec2"'],
    ['bad instance id', ['hosts', 'instanceIds', 0], 'web-1', 'hosts.instanceIds[0]', 'EC2 instance id'],
    ['no instance ids', ['hosts', 'instanceIds'], [], 'hosts.instanceIds', 'at least one instance id'],
    ['bad user', ['hosts', 'user'], 'Root;', 'hosts.user', 'unix user name'],
    [
      'relative working directory',
      ['hosts', 'workingDirectory'],
      'opt/full',
      'hosts.workingDirectory',
      'absolute path',
    ],
    [
      'local host directory with a space',
      ['hosts'],
      { type: 'local', directory: 'a b' },
      'hosts.directory',
      'plain characters',
    ],
    [
      'local host with a quote',
      ['hosts'],
      { type: 'local', directory: "x'y" },
      'hosts.directory',
      'plain characters',
    ],
    [
      'local host directory read as an option',
      ['hosts'],
      { type: 'local', directory: '-rf' },
      'hosts.directory',
      'not starting with "-"',
    ],
    [
      'local host directory listed twice',
      ['hosts'],
      { type: 'local', directory: ['hosts/a', 'hosts/b', 'hosts/a/'] },
      'hosts.directory[2]',
      'duplicate host "hosts/a/"',
    ],
    [
      'instance listed twice',
      ['hosts', 'instanceIds'],
      ['i-0123456789abcdef0', 'i-0123456789abcdef0'],
      'hosts.instanceIds[1]',
      'duplicate host "i-0123456789abcdef0"',
    ],
    ['empty deploy steps', ['deploy', 'steps'], [], 'deploy.steps', 'at least one deploy step'],
    ['empty verify steps', ['deploy', 'verify'], [], 'deploy.verify', 'at least one verify step'],
    [
      'run-once not a boolean',
      ['deploy', 'steps', 2, 'runOnce'],
      'yes',
      'deploy.steps[2].runOnce',
      'true or false',
    ],
    ['relative PATH entry', ['hosts', 'path', 0], 'go/bin', 'hosts.path[0]', 'absolute path'],
    [
      'target group that is not an ARN',
      ['deploy', 'loadBalancer', 'targetGroups', 0],
      'web-tg',
      'deploy.loadBalancer.targetGroups[0]',
      'target group ARN',
    ],
    [
      'no target group',
      ['deploy', 'loadBalancer', 'targetGroups'],
      [],
      'deploy.loadBalancer.targetGroups',
      'at least one target group',
    ],
    [
      'target group in another region than the hosts',
      ['deploy', 'loadBalancer', 'targetGroups', 0],
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/full/0123456789abcdef',
      'deploy.loadBalancer.targetGroups[0]',
      'target group in us-east-1, but the hosts are in eu-west-1',
    ],
    [
      'target group listed twice',
      ['deploy', 'loadBalancer', 'targetGroups'],
      [
        'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/full/0123456789abcdef',
        'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/full/0123456789abcdef',
      ],
      'deploy.loadBalancer.targetGroups[1]',
      'duplicate target group',
    ],
    [
      'drain timeout zero',
      ['deploy', 'loadBalancer', 'drainTimeout'],
      0,
      'deploy.loadBalancer.drainTimeout',
      'positive',
    ],
    ['empty rollback', ['deploy', 'rollback'], [], 'deploy.rollback', 'at least one rollback step'],
    [
      'step timeout zero',
      ['deploy', 'steps', 1, 'timeout'],
      0,
      'deploy.steps[1].timeout',
      'positive number of seconds',
    ],
    [
      'step timeout fraction',
      ['deploy', 'steps', 1, 'timeout'],
      1.5,
      'deploy.steps[1].timeout',
      'whole number of seconds',
    ],
    [
      'step timeout text',
      ['deploy', 'steps', 1, 'timeout'],
      '60',
      'deploy.steps[1].timeout',
      'positive number of seconds',
    ],
    [
      'empty step script',
      ['deploy', 'steps', 0, 'script'],
      '   ',
      'deploy.steps[0].script',
      'non-empty shell script',
    ],
    [
      'step name with a slash',
      ['deploy', 'steps', 0, 'name'],
      'a/b',
      'deploy.steps[0].name',
      'lowercase name',
    ],
    [
      'duplicate step names',
      ['deploy', 'steps', 1, 'name'],
      'checkout',
      'deploy.steps[1].name',
      'duplicate name "checkout"',
    ],
    ['unknown step field', ['deploy', 'steps', 0, 'user'], 'root', 'deploy.steps[0]', 'user'],
    ['batch size 0', ['deploy', 'batches', 'size'], 0, 'deploy.batches.size', 'positive whole number'],
    [
      'batch size 150%',
      ['deploy', 'batches', 'size'],
      '150%',
      'deploy.batches.size',
      'percentage from 1% to 100%',
    ],
    [
      'max errors -1',
      ['deploy', 'batches', 'maxErrors'],
      -1,
      'deploy.batches.maxErrors',
      'whole number of hosts',
    ],
    [
      'snapshot of a bad RDS id',
      ['deploy', 'snapshotBeforeDeploy', 'rdsInstance'],
      '1db',
      'deploy.snapshotBeforeDeploy.rdsInstance',
      'RDS DB instance identifier',
    ],
    [
      'health gate on an unknown probe',
      ['deploy', 'healthGate', 'probes', 0],
      'nope',
      'deploy.healthGate.probes[0]',
      'no health probe named "nope"',
    ],
    [
      'health gate without probes',
      ['deploy', 'healthGate', 'probes'],
      [],
      'deploy.healthGate.probes',
      'at least one probe name',
    ],
    [
      'health gate timeout negative',
      ['deploy', 'healthGate', 'timeout'],
      -5,
      'deploy.healthGate.timeout',
      'positive number of seconds',
    ],
    ['bad schedule', ['health', 'schedule'], 'every minute', 'health.schedule', 'rate(N minutes|hours|days)'],
    ['five-field cron', ['health', 'schedule'], 'cron(0 2 * * *)', 'health.schedule', 'six-field'],
    [
      'failure threshold 0',
      ['health', 'failureThreshold'],
      0,
      'health.failureThreshold',
      'positive whole number',
    ],
    ['no probes', ['health', 'probes'], [], 'health.probes', 'at least one probe'],
    [
      'probe of unknown type',
      ['health', 'probes', 0, 'type'],
      'ping',
      'health.probes[0].type',
      'expected a probe of type',
    ],
    [
      'duplicate probe names',
      ['health', 'probes', 1, 'name'],
      'site',
      'health.probes[1].name',
      'duplicate name "site"',
    ],
    [
      'ftp URL',
      ['health', 'probes', 0, 'url'],
      'ftp://x.example.com/',
      'health.probes[0].url',
      'http:// or https://',
    ],
    [
      'URL with a quote',
      ['health', 'probes', 0, 'url'],
      "https://x.example.com/'a",
      'health.probes[0].url',
      'without quotes',
    ],
    [
      'method DELETE',
      ['health', 'probes', 0, 'method'],
      'DELETE',
      'health.probes[0].method',
      'GET, HEAD or POST',
    ],
    [
      'status 99',
      ['health', 'probes', 0, 'expectStatus', 0],
      99,
      'health.probes[0].expectStatus[0]',
      'HTTP status code from 100 to 599',
    ],
    [
      'empty status list',
      ['health', 'probes', 0, 'expectStatus'],
      [],
      'health.probes[0].expectStatus',
      'at least one HTTP status code',
    ],
    [
      'empty bodyContains',
      ['health', 'probes', 0, 'bodyContains'],
      '',
      'health.probes[0].bodyContains',
      'non-empty string',
    ],
    [
      'jsonField with both',
      ['health', 'probes', 0, 'jsonField', 'equals'],
      'green',
      'health.probes[0].jsonField',
      'exactly one of "equals", "oneOf" or "compare"',
    ],
    [
      'jsonField bad path',
      ['health', 'probes', 0, 'jsonField', 'path'],
      'a..b',
      'health.probes[0].jsonField.path',
      'dotted path',
    ],
    [
      'maxLatencyMs 0',
      ['health', 'probes', 0, 'maxLatencyMs'],
      0,
      'health.probes[0].maxLatencyMs',
      'positive whole number',
    ],
    [
      'probe from elsewhere',
      ['health', 'probes', 0, 'from'],
      'lambda',
      'health.probes[0].from',
      '"outside" or "host"',
    ],
    [
      'TLS host with a slash',
      ['health', 'probes', 1, 'host'],
      'x.com/a',
      'health.probes[1].host',
      'host name',
    ],
    [
      'TLS port 70000',
      ['health', 'probes', 1, 'port'],
      70000,
      'health.probes[1].port',
      'port from 1 to 65535',
    ],
    [
      'TLS minDaysLeft 0',
      ['health', 'probes', 1, 'minDaysLeft'],
      0,
      'health.probes[1].minDaysLeft',
      'positive whole number',
    ],
    [
      'exit code 256',
      ['health', 'probes', 4, 'expectExitCode'],
      256,
      'health.probes[4].expectExitCode',
      'exit code from 0 to 255',
    ],
    [
      'bad regular expression',
      ['health', 'probes', 4, 'outputMatches'],
      '(',
      'health.probes[4].outputMatches',
      'valid regular expression',
    ],
    [
      'onFailure unknown runbook',
      ['health', 'onFailure', 'runbook'],
      'nope',
      'health.onFailure.runbook',
      'no recovery runbook named "nope"',
    ],
    ['backup of unknown type', ['backup', 0, 'type'], 'tape', 'backup[0].type', 'expected a backup of type'],
    ['retention empty', ['backup', 0, 'retention'], {}, 'backup[0].retention', '"days", "count" or both'],
    [
      'retention keeping no copy',
      ['backup', 0, 'retention'],
      { days: 0, count: 0 },
      'backup[0].retention',
      'this retention keeps no copy',
    ],
    ['retention days -1', ['backup', 0, 'retention', 'days'], -1, 'backup[0].retention.days', 'whole number'],
    [
      'backup schedule',
      ['backup', 0, 'schedule'],
      'daily',
      'backup[0].schedule',
      'rate(N minutes|hours|days)',
    ],
    ['RDS region', ['backup', 1, 'region'], 'mars-1', 'backup[1].region', 'AWS region'],
    ['vault name', ['backup', 2, 'vault'], 'a', 'backup[2].vault', 'AWS Backup vault name'],
    [
      'IAM role ARN',
      ['backup', 2, 'iamRoleArn'],
      'arn:aws:iam::1:role/x',
      'backup[2].iamRoleArn',
      'IAM role ARN',
    ],
    ['resource ARN', ['backup', 2, 'resourceArns', 0], 'i-0123', 'backup[2].resourceArns[0]', 'resource ARN'],
    ['bucket name', ['backup', 3, 'bucket'], 'My_Bucket', 'backup[3].bucket', 'S3 bucket name'],
    ['prefix with a space', ['backup', 3, 'prefix'], 'a b', 'backup[3].prefix', 'S3 key prefix'],
    [
      'dump without timeout',
      ['backup', 3, 'timeout'],
      undefined,
      'backup[3].timeout',
      'positive number of seconds',
    ],
    [
      'duplicate backup names',
      ['backup', 1, 'name'],
      'volumes',
      'backup[1].name',
      'duplicate name "volumes"',
    ],
    [
      'runbook name',
      ['recovery', 'Bad Name'],
      { description: 'x', steps: [{ type: 'reboot', name: 'r' }] },
      'recovery.Bad Name',
      'runbook name of lowercase letters',
    ],
    [
      'runbook without description',
      ['recovery', 'restart', 'description'],
      '',
      'recovery.restart.description',
      'description shown to the operator',
    ],
    [
      'runbook without steps',
      ['recovery', 'restart', 'steps'],
      [],
      'recovery.restart.steps',
      'at least one step',
    ],
    [
      'runbook step of unknown type',
      ['recovery', 'restart', 'steps', 0, 'type'],
      'pray',
      'recovery.restart.steps[0].type',
      '"restore-rds"',
    ],
    [
      'restart manager',
      ['recovery', 'restart', 'steps', 0, 'manager'],
      'supervisord',
      'recovery.restart.steps[0].manager',
      '"systemd", "pm2" or "docker-compose"',
    ],
    [
      'restart without services',
      ['recovery', 'restart', 'steps', 0, 'services'],
      [],
      'recovery.restart.steps[0].services',
      'at least one service',
    ],
    [
      'service with a space',
      ['recovery', 'restart', 'steps', 0, 'services', 0],
      'a b',
      'recovery.restart.steps[0].services[0]',
      'service name',
    ],
    [
      'service read as an option',
      ['recovery', 'restart', 'steps', 0, 'services', 0],
      '--now',
      'recovery.restart.steps[0].services[0]',
      'not starting with "-"',
    ],
    [
      'compose file read as an option',
      ['recovery', 'restart', 'steps', 1, 'composeFile'],
      '-p',
      'recovery.restart.steps[1].composeFile',
      'not starting with "-"',
    ],
    [
      'compose file with a space',
      ['recovery', 'restart', 'steps', 1, 'composeFile'],
      'a b.yaml',
      'recovery.restart.steps[1].composeFile',
      'file path',
    ],
    [
      'compose file for systemd',
      ['recovery', 'restart', 'steps', 0, 'composeFile'],
      'x.yaml',
      'recovery.restart.steps[0].composeFile',
      'only applies to the "docker-compose" manager',
    ],
    [
      'verify unknown probe',
      ['recovery', 'restart', 'verify', 0],
      'nope',
      'recovery.restart.verify[0]',
      'no health probe named "nope"',
    ],
    [
      'restore device',
      ['recovery', 'everything', 'steps', 2, 'device'],
      'sdf',
      'recovery.everything.steps[2].device',
      '"/dev/sdf"',
    ],
    [
      'restore snapshot id',
      ['recovery', 'everything', 'steps', 2, 'snapshot'],
      'snap-xyz',
      'recovery.everything.steps[2].snapshot',
      '"latest" or a snapshot id',
    ],
    [
      'AMI id',
      ['recovery', 'everything', 'steps', 3, 'amiId'],
      'ami-x',
      'recovery.everything.steps[3].amiId',
      'AMI id',
    ],
    [
      'Elastic IP',
      ['recovery', 'everything', 'steps', 3, 'elasticIpAllocationId'],
      '1.2.3.4',
      'recovery.everything.steps[3].elasticIpAllocationId',
      'Elastic IP allocation id',
    ],
    [
      'data volume device',
      ['recovery', 'everything', 'steps', 3, 'dataVolumeDevice'],
      '/mnt/data',
      'recovery.everything.steps[3].dataVolumeDevice',
      '"/dev/sdf"',
    ],
    [
      'RDS restore instance',
      ['recovery', 'everything', 'steps', 4, 'dbInstance'],
      'db_1',
      'recovery.everything.steps[4].dbInstance',
      'RDS DB instance identifier',
    ],
    [
      'RDS restore snapshot',
      ['recovery', 'everything', 'steps', 4, 'snapshot'],
      '-x',
      'recovery.everything.steps[4].snapshot',
      '"latest" or an RDS snapshot identifier',
    ],
    [
      'restore of an unknown dump',
      ['recovery', 'everything', 'steps', 5, 'backup'],
      'volumes',
      'recovery.everything.steps[5].backup',
      'no dump backup named "volumes"',
    ],
    [
      'duplicate runbook step names',
      ['recovery', 'everything', 'steps', 1, 'name'],
      'script',
      'recovery.everything.steps[1].name',
      'duplicate name "script"',
    ],
    [
      'Slack webhook URL in the file',
      ['alerts', 'slackWebhookParameter'],
      'https://hooks.slack.com/services/x',
      'alerts.slackWebhookParameter',
      'never the webhook URL itself',
    ],
    [
      'Slack parameter without slash',
      ['alerts', 'slackWebhookParameter'],
      'slack',
      'alerts.slackWebhookParameter',
      'SSM parameter name',
    ],
    ['SNS topic', ['alerts', 'topic'], 'a topic', 'alerts.topic', 'SNS topic name or ARN'],
  ];

  it.each(rejections)('rejects %s', (_what, path, value, expectedPath, fragment) => {
    // Prepare
    const target = withValue(path, value);

    // Act
    const issues = issuesOf(target);

    // Assess
    const match = issues.find((i) => i.path === expectedPath);
    expect(match, `issues: ${JSON.stringify(issues)}`).toBeDefined();
    expect(match?.message).toContain(fragment);
  });

  // Cross-checks that only apply to local hosts.
  const localRejections: [string, Segment[], string][] = [
    ['ec2-status probes', ['health', 'probes', 2, 'type'], 'a "ec2-status" probe needs ec2 hosts'],
    ['ssm-agent probes', ['health', 'probes', 3, 'type'], 'a "ssm-agent" probe needs ec2 hosts'],
    [
      'EBS snapshots before deploys',
      ['deploy', 'snapshotBeforeDeploy', 'ebs'],
      'EBS snapshots need ec2 hosts',
    ],
    ['RDS snapshots before deploys', ['deploy', 'snapshotBeforeDeploy', 'rdsInstance'], 'need ec2 hosts'],
    ['reboot steps', ['recovery', 'everything', 'steps', 1, 'type'], 'a "reboot" step needs ec2 hosts'],
    [
      'restore-volume steps',
      ['recovery', 'everything', 'steps', 2, 'type'],
      'a "restore-volume" step needs ec2 hosts',
    ],
    [
      'replace-instance steps',
      ['recovery', 'everything', 'steps', 3, 'type'],
      'a "replace-instance" step needs ec2 hosts',
    ],
    [
      'restore-rds steps',
      ['recovery', 'everything', 'steps', 4, 'type'],
      'a "restore-rds" step needs ec2 hosts',
    ],
  ];

  it.each(localRejections)('rejects %s on a local host', (_what, path, fragment) => {
    // Prepare
    const target = withValue(['hosts'], { type: 'local', directory: '.stepops/full' });

    // Act
    const issues = issuesOf(target);

    // Assess
    const match = issues.find((i) => i.path === formatPath(path));
    expect(match, `issues: ${JSON.stringify(issues)}`).toBeDefined();
    expect(match?.message).toContain(fragment);
  });

  it('reports every problem of a target at once', () => {
    // Prepare
    const target = withValue(['deploy', 'steps', 1, 'timeout'], 0);
    (target.health as { schedule: string }).schedule = 'often';
    (target as { name: string }).name = 'Bad';

    // Act
    const paths = issuesOf(target).map((i) => i.path);

    // Assess
    expect(paths).toEqual(expect.arrayContaining(['name', 'deploy.steps[1].timeout', 'health.schedule']));
  });

  it('keeps names safe for a shell, a tag and an ARN', () => {
    expect(NAME_PATTERN.test('web-1')).toBe(true);
    expect(NAME_PATTERN.test('a'.repeat(64))).toBe(false);
    expect(NAME_PATTERN.test('web;rm')).toBe(false);
  });

  it('defineTarget returns the target unchanged', () => {
    const input = { name: 'x', description: 'y', hosts: { type: 'local' as const, directory: 'h' } };
    expect(defineTarget(input)).toBe(input);
  });
});
