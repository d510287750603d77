/**
 * Values a target's operations document does not give are written `unfilled(…)`: the target
 * validates and plans, `validate --stage` lists them, a stage refuses the target, and a deploy that
 * needs one is refused before it calls AWS.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RDSClient } from '@aws-sdk/client-rds';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDeploy } from '../../../cli/commands/deploy.ts';
import { validate } from '../../../cli/commands/validate.ts';
import type { Output } from '../../../cli/output.ts';
import { parseTarget, UnfilledValuesError } from '../../../shared/config/load.ts';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import {
  deployUnfilledValues,
  type TargetInput,
  unfilled,
  unfilledValues,
} from '../../../shared/config/schema.ts';
import { defaultDeployDeps } from '../../../shared/deploy/deps.ts';
import { planDeployStep } from '../../../shared/deploy/steps/plan-deploy.ts';
import { StageConfigError, stageSettings } from '../../../stacks/settings.ts';
import { filledTarget } from '../../fixtures/filled-targets.ts';

const rds = mockClient(RDSClient);
const dynamo = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);

function capture(): Output & { text: () => string } {
  const lines: string[] = [];
  return { out: (t) => lines.push(t), err: (t) => lines.push(t), text: () => lines.join('\n') };
}

const DATABASE = "RDS instance id of datizmo's PostgreSQL 14 database";

function app(fields: Partial<TargetInput>): TargetInput {
  return {
    name: 'app',
    description: 'an app',
    hosts: {
      type: 'ec2',
      region: 'eu-west-1',
      instanceIds: ['i-0abc12345def67890'],
      workingDirectory: '/opt/app',
    },
    deploy: {
      steps: [{ name: 'build', script: 'make', timeout: 60 }],
      rollback: [{ name: 'back', script: 'make back', timeout: 60 }],
      healthGate: { probes: ['site'], timeout: 30 },
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [
        { name: 'site', type: 'http', url: 'https://app.example.org/' },
        { name: 'cert', type: 'tls', host: unfilled('domain of the app'), minDaysLeft: 14 },
      ],
    },
    ...fields,
  };
}

beforeEach(() => {
  for (const client of [rds, dynamo, sns]) client.reset();
});
afterEach(() => clearRegisteredTargets());

describe('unfilled()', () => {
  it('is a marker no AWS id could be mistaken for', () => {
    expect(unfilled(' bucket of the dumps ')).toBe('<unfilled: bucket of the dumps>');
    expect(() => unfilled('')).toThrow(TypeError);
    expect(() => unfilled('a <b>')).toThrow(/without "<" or ">"/);
  });

  it('is accepted where an id, bucket, domain or URL goes, alone or inside a URL', () => {
    // Act
    const target = parseTarget(
      app({
        health: {
          schedule: 'rate(5 minutes)',
          probes: [{ name: 'site', type: 'http', url: `https://${unfilled('domain of the app')}/health` }],
        },
        deploy: {
          steps: [{ name: 'build', script: 'make', timeout: 60 }],
          rollback: [{ name: 'back', script: 'make back', timeout: 60 }],
          snapshotBeforeDeploy: { rdsInstance: unfilled('RDS id of the app') },
          healthGate: { probes: ['site'], timeout: 30 },
        },
      }),
      'app.ts',
    );

    // Assess
    expect(unfilledValues(target)).toEqual([
      { path: 'deploy.snapshotBeforeDeploy.rdsInstance', what: 'RDS id of the app' },
      { path: 'health.probes[0].url', what: 'domain of the app' },
    ]);
  });

  it('is accepted for the AWS ids a document may not give: instances, target groups, volumes, AMIs, launch templates, subnets, security groups, vaults, roles', () => {
    // Prepare: every such id of a target left to fill in
    const input = app({
      hosts: {
        type: 'ec2',
        region: 'eu-west-1',
        instanceIds: [unfilled('instance id of the web server')],
        workingDirectory: '/opt/app',
      },
      deploy: {
        steps: [{ name: 'build', script: 'make', timeout: 60 }],
        rollback: [{ name: 'back', script: 'make back', timeout: 60 }],
        loadBalancer: { targetGroups: [unfilled('target group ARN of the web ALB')] },
        healthGate: { probes: ['site'], timeout: 30 },
      },
      backup: [
        {
          name: 'disk',
          type: 'ebs-snapshot',
          schedule: 'rate(1 day)',
          retention: { count: 3 },
          volumes: [unfilled('data volume id')],
        },
        {
          name: 'db',
          type: 'rds-snapshot',
          region: 'eu-west-1',
          dbInstance: 'app-db',
          schedule: 'rate(1 day)',
          retention: { count: 3 },
          restoreTest: {
            schedule: 'rate(7 days)',
            dbSubnetGroup: unfilled('DB subnet group of the app VPC'),
            securityGroupIds: [unfilled('security group of the database')],
          },
        },
        {
          name: 'vault',
          type: 'aws-backup',
          schedule: 'rate(1 day)',
          retention: { count: 3 },
          vault: unfilled('AWS Backup vault'),
          iamRoleArn: unfilled('AWS Backup service role ARN'),
          resourceArns: [unfilled('ARN of the EFS file system')],
        },
      ],
      recovery: {
        'replace-web': {
          description: 'Replace the web server',
          destructive: true,
          steps: [
            {
              type: 'replace-instance',
              name: 'replace',
              amiId: unfilled('AMI of the web server'),
              elasticIpAllocationId: unfilled('Elastic IP allocation id'),
              launchTemplate: { id: unfilled('launch template id of the web server') },
            },
          ],
        },
      },
    });

    // Act
    const target = parseTarget(input, 'app.ts');

    // Assess: each one validates and is listed, with its path, for validate --stage
    expect(unfilledValues(target).map((value) => value.path)).toEqual([
      'hosts.instanceIds[0]',
      'deploy.loadBalancer.targetGroups[0]',
      'health.probes[1].host',
      'backup[0].volumes[0]',
      'backup[1].restoreTest.dbSubnetGroup',
      'backup[1].restoreTest.securityGroupIds[0]',
      'backup[2].vault',
      'backup[2].iamRoleArn',
      'backup[2].resourceArns[0]',
      'recovery.replace-web.steps[0].amiId',
      'recovery.replace-web.steps[0].elasticIpAllocationId',
      'recovery.replace-web.steps[0].launchTemplate.id',
    ]);
    // A deploy needs the instances and the target group: refused until they are filled in.
    expect(deployUnfilledValues(target).map((value) => value.path)).toContain(
      'deploy.loadBalancer.targetGroups[0]',
    );
  });

  it('still refuses a malformed id beside the marker', () => {
    // Act
    const act = (fields: Partial<TargetInput>) => () => parseTarget(app(fields), 'app.ts');

    // Assess
    expect(
      act({
        hosts: { type: 'ec2', region: 'eu-west-1', instanceIds: ['i-nope'], workingDirectory: '/opt/app' },
      }),
    ).toThrow(/hosts\.instanceIds\[0\]: expected an EC2 instance id/);
    expect(
      act({
        deploy: {
          steps: [{ name: 'build', script: 'make', timeout: 60 }],
          rollback: [{ name: 'back', script: 'make back', timeout: 60 }],
          loadBalancer: { targetGroups: [`${unfilled('target group')} or so`] },
          healthGate: { probes: ['site'], timeout: 30 },
        },
      }),
    ).toThrow(/deploy\.loadBalancer\.targetGroups\[0\]: expected a target group ARN/);
  });

  it('never hides an invalid value around it', () => {
    // Prepare
    const withUrl = (url: string) =>
      app({ health: { schedule: 'rate(5 minutes)', probes: [{ name: 'site', type: 'http', url }] } });

    // Act
    const act = () => parseTarget(withUrl(`https://${unfilled('domain')}/$(reboot)`), 'app.ts');
    const bucket = () =>
      parseTarget(
        app({
          backup: [
            {
              name: 'dump',
              type: 'dump',
              script: 'true',
              timeout: 60,
              bucket: `${unfilled('bucket')};rm`,
              schedule: 'rate(1 day)',
              retention: { days: 7 },
            },
          ],
        }),
        'app.ts',
      );

    // Assess
    expect(act).toThrow('app.ts: health.probes[0].url: expected a URL without quotes, spaces or backslashes');
    expect(bucket).toThrow(
      /^app\.ts: backup\[0\]\.bucket: expected an S3 bucket name, got "<unfilled: bucket>;rm"$/,
    );
  });

  it('blocks a deploy only for the values a deploy uses', () => {
    // Prepare
    const target = parseTarget(app({}), 'app.ts');

    // Act
    const forDeploy = deployUnfilledValues(target);

    // Assess: the certificate probe is not a gate probe
    expect(unfilledValues(target)).toEqual([{ path: 'health.probes[1].host', what: 'domain of the app' }]);
    expect(forDeploy).toEqual([]);
  });
});

describe('the real targets', () => {
  it('mark what their operations documents do not give, instead of made-up ids', () => {
    expect(unfilledValues(findTarget('datizmo')).map((v) => `${v.path}: ${v.what}`)).toEqual([
      'repository: GitHub repository (owner/name) of datizmo, whose pushes to main deploy it',
      "deploy.steps[1].script: datizmo's backend build commands, run in backend/ (what server-deployment.sh runs there)",
      "deploy.steps[3].script: datizmo's frontend build commands, run in frontend/ (what server-deployment.sh runs there)",
      "deploy.rollback[1].script: datizmo's backend build commands, run in backend/ (what server-deployment.sh runs there)",
      "deploy.rollback[2].script: datizmo's frontend build commands, run in frontend/ (what server-deployment.sh runs there)",
      `deploy.snapshotBeforeDeploy.rdsInstance: ${DATABASE}`,
      `backup[0].dbInstance: ${DATABASE}`,
      "backup[2].bucket: S3 bucket for datizmo's .env backups",
      `recovery.revert-to-last-good.steps[1].script: datizmo's backend build commands, run in backend/ (what server-deployment.sh runs there)`,
      `recovery.revert-to-last-good.steps[2].script: datizmo's frontend build commands, run in frontend/ (what server-deployment.sh runs there)`,
      `recovery.restore-database.steps[0].dbInstance: ${DATABASE}`,
      "recovery.rebuild-server.steps[0].elasticIpAllocationId: Elastic IP allocation id of datizmo's instance",
    ]);
    expect(unfilledValues(findTarget('docsai')).map((v) => v.path)).toEqual([
      'repository',
      'health.probes[0].url',
      'health.probes[1].host',
      'backup[0].bucket',
    ]);
    expect(JSON.stringify(findTarget('zmanim'))).not.toMatch(/eipalloc-|zmanim-prod-backups/);
    expect(JSON.stringify(findTarget('datizmo'))).not.toMatch(/eipalloc-|datizmo-db|datizmo-backups/);
  });

  it('are listed by validate --stage with file and path, exit 2', async () => {
    // Prepare
    const output = capture();

    // Act
    const code = await validate(['datizmo', 'demo'], output, { stage: 'prod', env: {} });

    // Assess
    expect(code).toBe(2);
    expect(output.text()).toContain(
      `targets/datizmo.ts: deploy.snapshotBeforeDeploy.rdsInstance: unfilled: ${DATABASE} (fill it in before stage prod deploys this target)`,
    );
    // A local target named for a stage fails as the stage would refuse it.
    expect(output.text()).toContain(
      'targets/demo.ts: hosts: local hosts: target "demo" runs on the local engine only and cannot run on stage prod',
    );
    expect(output.text()).not.toContain('✓ demo');
    expect(output.text()).not.toContain('✓ datizmo');
  });

  it('pass validate without --stage', async () => {
    expect(await validate(['datizmo'], capture())).toBe(0);
  });

  it('are refused by a stage until filled in', () => {
    // Act
    const act = () => stageSettings('test', { STEPOPS_TARGETS: 'datizmo' });

    // Assess
    expect(act).toThrow(StageConfigError);
    expect(act).toThrow(`targets/datizmo.ts: deploy.snapshotBeforeDeploy.rdsInstance: unfilled: ${DATABASE}`);
    registerTarget(filledTarget('datizmo'));
    expect(stageSettings('test', { STEPOPS_TARGETS: 'datizmo' }).targets.map((t) => t.name)).toEqual([
      'datizmo',
    ]);
  });

  it('are refused by the plan-deploy step, before the lease and any AWS call', () => {
    // Act
    const act = () =>
      planDeployStep({ input: { target: 'datizmo', ref: 'v1' }, runId: 'r-1' }, defaultDeployDeps());

    // Assess
    expect(act).toThrow(UnfilledValuesError);
    expect(act).toThrow(
      'target "datizmo" has values to fill in before it deploys (marked unfilled in datizmo.ts of the targets directory): ',
    );
    expect(act).toThrow(`deploy.snapshotBeforeDeploy.rdsInstance (${DATABASE})`);
    expect(act).toThrow(
      "deploy.steps[1].script (datizmo's backend build commands, run in backend/ (what server-deployment.sh runs there))",
    );
  });

  it('are refused by stepops deploy with exit 2 and no AWS call', async () => {
    // Prepare
    const output = capture();

    // Act
    const report = await runDeploy({
      target: 'datizmo',
      ref: 'v1',
      stage: 'prod',
      output,
      stageOptions: { env: {}, credentials: async () => ({}) },
    });

    // Assess
    expect(report).toEqual({ exitCode: 2, error: 'UnfilledValuesError' });
    expect(output.text()).toContain(`deploy.snapshotBeforeDeploy.rdsInstance (${DATABASE})`);
    expect(rds.calls()).toHaveLength(0);
    expect(dynamo.calls()).toHaveLength(0);
    expect(sns.calls()).toHaveLength(0);
  });
});
