/**
 * The health section of a target file: bad conditions, thresholds below 1, schedules EventBridge
 * Scheduler cannot run and unknown runbooks are refused with the exact path of the problem.
 */
import { describe, expect, it } from 'vitest';
import { formatPath, parseTarget } from '../../../shared/config/load.ts';
import { targetSchema, unschedulable } from '../../../shared/config/schema.ts';

function target(health: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    name: 'h',
    description: 'health fields',
    hosts: {
      type: 'ec2',
      region: 'eu-west-1',
      instanceIds: ['i-0aaaaaaaaaaaaaaa1'],
      workingDirectory: '/opt/h',
    },
    health: {
      schedule: 'rate(1 minute)',
      probes: [{ name: 'site', type: 'http', url: 'https://h.example/' }],
      ...health,
    },
    recovery: {
      'restart-app': {
        description: 'restart',
        steps: [{ type: 'script', name: 's', script: 'true', timeout: 5 }],
      },
    },
    ...extra,
  };
}

function issues(value: unknown): string[] {
  const result = targetSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

describe('health schema', () => {
  it('defaults the thresholds to 3 failures and 2 successes, and the recovery limits', () => {
    const parsed = targetSchema.parse(target({ onFailure: { runbook: 'restart-app' } }));
    expect(parsed.health).toMatchObject({
      failureThreshold: 3,
      successThreshold: 2,
      onFailure: { runbook: 'restart-app', cooldownMinutes: 30, maxPerDay: 3 },
    });
  });

  it.each([
    ['rate(1 minutes)', 'health.schedule: expected "rate(1 minute)": a rate of 1 takes the singular unit'],
    ['rate(5 minute)', 'health.schedule: expected "rate(5 minutes)": a rate above 1 takes the plural unit'],
    ['rate(0 minutes)', 'health.schedule: expected a rate of at least 1 (e.g. "rate(1 minute)")'],
    [
      'cron(0 3 * * MON *)',
      'health.schedule: expected "?" in exactly one of day-of-month and day-of-week (e.g. "cron(0 3 * * ? *)")',
    ],
    [
      'every minute',
      'health.schedule: expected "rate(N minutes|hours|days)" or a six-field "cron(m h dom mon dow year)"',
    ],
  ])('refuses the schedule %s', (schedule, message) => {
    expect(issues(target({ schedule }))).toEqual([message]);
  });

  it('accepts the schedules Scheduler runs', () => {
    for (const schedule of [
      'rate(1 minute)',
      'rate(5 minutes)',
      'rate(1 hour)',
      'cron(0 3 * * ? *)',
      'cron(0 3 ? * MON *)',
    ]) {
      expect(unschedulable(schedule), schedule).toBeUndefined();
    }
  });

  it('refuses thresholds below 1 and limits below 1, each at its path', () => {
    expect(
      issues(
        target({
          failureThreshold: 0,
          successThreshold: -1,
          onFailure: { runbook: 'restart-app', cooldownMinutes: 0, maxPerDay: 0 },
        }),
      ),
    ).toEqual([
      'health.failureThreshold: expected a positive whole number',
      'health.successThreshold: expected a positive whole number',
      'health.onFailure.cooldownMinutes: expected a positive whole number',
      'health.onFailure.maxPerDay: expected a positive whole number',
    ]);
  });

  it('refuses invalid conditions at the probe field', () => {
    expect(
      issues(
        target({
          probes: [
            { name: 'a', type: 'http', url: 'https://h.example/', bodyMatches: '(unclosed' },
            { name: 'b', type: 'http', url: 'http://h.example/', minCertDaysLeft: 14 },
            { name: 'c', type: 'http', from: 'host', url: 'https://127.0.0.1/', minCertDaysLeft: 14 },
            { name: 'd', type: 'http', url: 'https://h.example/', jsonField: { path: 'a..b', equals: 1 } },
            { name: 'e', type: 'command', script: 'true', outputMatches: '[' },
            { name: 'f', type: 'disk', mount: '/', maxUsedPercent: 101 },
          ],
        }),
      ),
    ).toEqual([
      'health.probes[0].bodyMatches: expected a valid regular expression',
      'health.probes[3].jsonField.path: expected a dotted path such as "db.status"',
      'health.probes[4].outputMatches: expected a valid regular expression',
      'health.probes[5].maxUsedPercent: expected a percentage from 1 to 100',
      'health.probes[1].minCertDaysLeft: a certificate condition needs an https:// URL',
      'health.probes[2].minCertDaysLeft: a certificate condition needs the request made from outside (from: "outside")',
    ]);
    expect(
      issues(
        target({
          probes: [
            { name: 'b', type: 'http', url: 'http://h.example/', minCertDaysLeft: 14 },
            { name: 'c', type: 'http', from: 'host', url: 'https://127.0.0.1/', minCertDaysLeft: 14 },
          ],
        }),
      ),
    ).toEqual([
      'health.probes[0].minCertDaysLeft: a certificate condition needs an https:// URL',
      'health.probes[1].minCertDaysLeft: a certificate condition needs the request made from outside (from: "outside")',
    ]);
  });

  it('refuses an onFailure runbook the target does not declare, and a bad maintenance window', () => {
    expect(
      issues(
        target({
          onFailure: { runbook: 'reboot-all' },
          maintenance: [{ start: '25:00', durationMinutes: 0 }],
        }),
      ),
    ).toEqual([
      'health.maintenance[0].start: expected a time of day as "HH:MM" (UTC)',
      'health.maintenance[0].durationMinutes: expected a whole number of minutes from 1 to 1440',
      'health.onFailure.runbook: no recovery runbook named "reboot-all"',
    ]);
    expect(issues(target({ onFailure: { runbook: 'reboot-all' } }))).toEqual([
      'health.onFailure.runbook: no recovery runbook named "reboot-all"',
    ]);
  });

  it('names the file and the path when the loader refuses it', () => {
    expect(() => parseTarget(target({ failureThreshold: 0 }), 'targets/h.ts', 'h')).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ file: 'targets/h.ts' })] }),
    );
  });
});
