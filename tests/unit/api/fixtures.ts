/** Targets and secrets shared by the deploy API tests. */
import type { TargetInput } from '../../../shared/config/schema.ts';

/** GitHub's published test vector for `X-Hub-Signature-256`. */
export const GITHUB_VECTOR = {
  secret: "It's a Secret to Everybody",
  payload: 'Hello, World!',
  signature: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
};

export const API_TOKEN = 'stepops-test-token-5f0d8a7e1b2c';
export const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:stepops-test-deploy';

/** An EC2 target deployed from `acme/api-server`. */
export function ec2Target(name: string, repository?: string): TargetInput {
  return {
    name,
    description: `fixture target ${name}`,
    ...(repository ? { repository } : {}),
    hosts: {
      type: 'ec2',
      region: 'eu-west-1',
      tags: { 'stepops:target': name },
      user: 'ubuntu',
      workingDirectory: '/opt/app',
    },
    deploy: {
      steps: [{ name: 'pull', script: 'git pull', timeout: 60 }],
      rollback: [{ name: 'back', script: 'git checkout -', timeout: 60 }],
      healthGate: { probes: ['up'], timeout: 60 },
    },
    health: {
      schedule: 'rate(1 minute)',
      probes: [{ name: 'up', type: 'http', url: 'http://127.0.0.1:8080/health' }],
    },
  };
}

/**
 * A backup job snapshotting the RDS instance `shop-db` daily at 03:00 UTC, seven kept.
 *
 * @example
 * registerTarget({ ...ec2Target('shop'), backup: [rdsSnapshotJob({ rpoHours: 26 })] });
 */
export function rdsSnapshotJob(
  overrides: Partial<Extract<NonNullable<TargetInput['backup']>[number], { type: 'rds-snapshot' }>> = {},
): NonNullable<TargetInput['backup']>[number] {
  return {
    name: 'db',
    type: 'rds-snapshot',
    dbInstance: 'shop-db',
    region: 'eu-west-1',
    schedule: 'cron(0 3 * * ? *)',
    retention: { count: 7 },
    ...overrides,
  };
}
