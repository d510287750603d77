import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../shared/config/load.ts';
import { nextScheduledRun, scheduleIntervalSeconds } from '../../../shared/config/schedule.ts';

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

describe('nextScheduledRun', () => {
  const at = (iso: string) => Date.parse(iso);

  it.each([
    ['cron(0 2 * * ? *)', 'UTC', '2026-12-02T06:30:00Z', '2026-12-03T02:00:00Z'],
    ['cron(0 2 * * ? *)', 'UTC', '2026-12-02T01:59:30Z', '2026-12-02T02:00:00Z'],
    ['cron(0 2 * * ? *)', 'UTC', '2026-12-02T02:00:00Z', '2026-12-03T02:00:00Z'],
    ['cron(0/15 * * * ? *)', 'UTC', '2026-12-02T06:31:20Z', '2026-12-02T06:45:00Z'],
    ['cron(0 2,14 * * ? *)', 'UTC', '2026-12-02T06:00:00Z', '2026-12-02T14:00:00Z'],
    ['cron(0 3 ? * SUN *)', 'UTC', '2026-12-02T06:00:00Z', '2026-12-06T03:00:00Z'],
    ['cron(0 3 ? * MON-FRI *)', 'UTC', '2026-12-04T04:00:00Z', '2026-12-07T03:00:00Z'],
    ['cron(0 7 1 * ? *)', 'UTC', '2026-12-02T06:00:00Z', '2027-01-01T07:00:00Z'],
    ['cron(0 0 1 JAN ? *)', 'UTC', '2026-12-02T06:00:00Z', '2027-01-01T00:00:00Z'],
    ['cron(0 2 * * ? *)', 'Europe/London', '2026-07-01T06:00:00Z', '2026-07-02T01:00:00Z'],
    ['cron(0 2 * * ? *)', 'Europe/London', '2026-12-02T06:00:00Z', '2026-12-03T02:00:00Z'],
    ['cron(30 8 * * ? *)', 'Asia/Kolkata', '2026-12-02T06:00:00Z', '2026-12-03T03:00:00Z'],
    // New York springs forward at 02:00 on 8 March 2026: 03:00 that day is EDT (UTC-4).
    ['cron(0 3 * * ? *)', 'America/New_York', '2026-03-08T00:00:00Z', '2026-03-08T07:00:00Z'],
  ])('%s in %s after %s fires at %s', (expression, timezone, after, expected) => {
    // Act
    const next = nextScheduledRun(expression, { after: at(after), timezone });

    // Assess
    expect(next && new Date(next.at).toISOString()).toBe(new Date(expected).toISOString());
    expect(next?.estimated).toBe(false);
  });

  it('estimates a rate from its last run, since a rate counts from when its schedule was made', () => {
    // Act
    const next = nextScheduledRun('rate(1 hour)', {
      after: at('2026-12-02T08:30:00Z'),
      lastRun: at('2026-12-02T06:10:00Z'),
    });

    // Assess
    expect(next).toEqual({ at: at('2026-12-02T09:10:00Z'), estimated: true });
  });

  it.each([
    ['a rate that never ran', 'rate(1 hour)'],
    ['a year already past', 'cron(0 0 1 1 ? 2020)'],
    ['the last day of the month (L)', 'cron(0 0 L * ? *)'],
    ['the nth weekday (#)', 'cron(0 0 ? * 2#1 *)'],
    ['not a schedule', 'every day'],
  ])('does not know the next run of %s', (_, expression) => {
    expect(nextScheduledRun(expression, { after: at('2026-12-02T06:00:00Z') })).toBeUndefined();
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
