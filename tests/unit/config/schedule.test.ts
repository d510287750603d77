import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../shared/config/load.ts';
import { scheduleIntervalSeconds } from '../../../shared/config/schedule.ts';

describe('scheduleIntervalSeconds', () => {
  it.each([
    ['rate(6 hours)', 6 * 3600],
    ['rate(1 day)', 86_400],
    ['rate(30 minutes)', 1800],
    ['cron(0 2 * * ? *)', 86_400],
    ['cron(0 2,14 * * ? *)', 12 * 3600],
    ['cron(0/15 * * * ? *)', 900],
    ['cron(0 3 ? * SUN *)', 7 * 86_400],
    ['cron(0 3 ? * MON-FRI *)', 3 * 86_400],
    ['cron(0 7 1 * ? *)', 31 * 86_400],
  ])('%s fires at most %i s apart', (expression, seconds) => {
    expect(scheduleIntervalSeconds(expression)).toBe(seconds);
  });
});

describe('backup checks at validate', () => {
  const base = {
    name: 'rpo',
    description: 'rpo checks',
    hosts: {
      type: 'ec2',
      region: 'eu-west-1',
      instanceIds: ['i-0123456789abcdef0'],
      workingDirectory: '/opt/app',
    },
  };

  const problemsOf = (target: unknown): string[] => {
    try {
      parseTarget(target, 'targets/rpo.ts');
      return [];
    } catch (error) {
      return (error as { issues: { path: string; message: string }[] }).issues.map(
        (i) => `${i.path}: ${i.message}`,
      );
    }
  };

  it('refuses a retention keeping nothing and a bad time zone', () => {
    // Prepare
    const target = {
      ...base,
      backup: [
        { name: 'none', type: 'ebs-snapshot', schedule: 'rate(1 day)', retention: { count: 0, days: 0 } },
        {
          name: 'tz',
          type: 'ebs-snapshot',
          schedule: 'rate(1 day)',
          timezone: 'Mars/Olympus',
          retention: { count: 1 },
        },
      ],
    };

    // Act
    const problems = problemsOf(target);

    // Assess
    expect(problems).toEqual([
      'backup[0].retention: this retention keeps no copy: give "days", "count", "daily", "weekly" or "monthly" a value above 0',
      'backup[1].timezone: expected an IANA time zone such as "Europe/London" or "UTC"',
    ]);
  });

  it('refuses an RPO shorter than the schedule and ec2 secrets without the AWS CLI', () => {
    // Prepare
    const target = {
      ...base,
      backup: [
        {
          name: 'vol',
          type: 'ebs-snapshot',
          schedule: 'cron(0 2 * * ? *)',
          retention: { days: 7 },
          rpoHours: 12,
        },
        {
          name: 'db',
          type: 'dump',
          script: 'pg_dump > "$STEPOPS_DUMP_FILE"',
          timeout: 60,
          bucket: 'b-backups',
          secrets: { PGPASSWORD: '/db/pw' },
          schedule: 'rate(1 day)',
          retention: { count: 3 },
        },
      ],
    };

    // Act
    const problems = problemsOf(target);

    // Assess
    expect(problems).toEqual([
      "backup[0].rpoHours: an RPO of 12 h is shorter than the schedule's interval (24 h): every copy would be late",
      'backup[1].secrets: the hosts read these secrets with the AWS CLI (aws ssm get-parameter): install it on them and declare awsCli: true',
    ]);
  });

  it('accepts an RPO the schedule meets and secrets on hosts that declare the AWS CLI', () => {
    // Prepare
    const target = {
      ...base,
      backup: [
        {
          name: 'vol',
          type: 'ebs-snapshot',
          schedule: 'cron(0 2 * * ? *)',
          timezone: 'Europe/London',
          retention: { days: 7, weekly: 4 },
          rpoHours: 24,
        },
        {
          name: 'db',
          type: 'dump',
          script: 'pg_dump > "$STEPOPS_DUMP_FILE"',
          timeout: 60,
          bucket: 'b-backups',
          secrets: { PGPASSWORD: '/db/pw' },
          awsCli: true,
          schedule: 'rate(1 day)',
          retention: { count: 3 },
        },
      ],
    };

    // Act
    const parsed = parseTarget(target, 'targets/rpo.ts');

    // Assess
    expect(parsed.backup?.[0]).toMatchObject({
      timezone: 'Europe/London',
      rpoHours: 24,
      notifyOnSuccess: false,
    });
  });
});
