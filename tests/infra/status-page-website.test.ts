/**
 * The status page served by the bucket's website endpoint (`STEPOPS_STATUS_PAGE=website`) under
 * Pulumi's mock runtime: the health workflow with its publish step, the publish function's least
 * privilege and environment, and a bucket that lets anyone read the page and nothing else.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { healthComponentName } from '../../stacks/health.ts';
import { stageSettings } from '../../stacks/settings.ts';
import * as workflow from '../../workflows/health.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import { ACCOUNT, LAMBDA, type MockRun, runUnderMocks, statementsOf } from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

const BUCKET = `stepops-test-status-${ACCOUNT}`;
let page: MockRun<{ targets: string; statusPage: string }>;

function policyOf(resource: { inputs: Record<string, unknown> }): {
  Statement: { Effect: string; Principal: unknown; Action: string; Resource: string; Condition?: unknown }[];
} {
  return JSON.parse(String(resource.inputs.policy));
}

/** Renders the stage under the mocks (one rendering a file: the mock runtime is set up once a process). */
function renderWith(mode: 'website' | 'cloudfront') {
  beforeAll(async () => {
    ensureSstPlatform();
    registerFilledTargets();
    const settings = stageSettings('test', { STEPOPS_STATUS_PAGE: mode });
    page = (await runUnderMocks(async () =>
      (await import('../../stacks/index.ts')).createStacks({ settings }),
    )) as unknown as MockRun<{ targets: string; statusPage: string }>;
  }, 600_000);
}

renderWith('website');

describe('health stack with a status page served by the bucket website', () => {
  it('refuses a status page mode it does not know, naming the setting', () => {
    expect(() => stageSettings('test', { STEPOPS_STATUS_PAGE: 'public' })).toThrow(
      'STEPOPS_STATUS_PAGE: "public" is not a status page mode (off, website or cloudfront)',
    );
  });

  it('website: publishes through a Choice to a function that may read the state and put only the page, served by the bucket website', async () => {
    // Assess: the workflow with the publish step, exactly as the module builds it
    const arns = Object.fromEntries(
      workflow.HEALTH_FUNCTIONS.map((folder) => [
        folder,
        page.one(LAMBDA, `${healthComponentName(folder)}Function`).state.arn,
      ]),
    ) as Parameters<typeof workflow.healthWorkflow>[0];
    const machine = page.one('aws:sfn/stateMachine:StateMachine', 'HealthWorkflow');
    expect(JSON.parse(String(machine.inputs.definition))).toEqual(
      JSON.parse(JSON.stringify(workflow.healthWorkflow(arns))),
    );
    const bucketName = BUCKET;
    expect(page.one('aws:s3/bucket:Bucket', 'StatusPageBucket').inputs.bucket).toBe(bucketName);
    const fn = page.one(LAMBDA, `${healthComponentName('publish-status-page')}Function`);
    const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    expect(env).toMatchObject({
      STEPOPS_STATUS_BUCKET: bucketName,
      STEPOPS_STATUS_TITLE: 'test',
      STEPOPS_STATUS_TARGETS: page.outputs.targets,
      STEPOPS_STATE_TABLE: 'stepops-test-state',
    });
    const role = `${healthComponentName('publish-status-page')}Role`;
    const granted = new Map<string, string[]>();
    for (const s of statementsOf(page, role)) for (const a of s.Action) granted.set(a, s.Resource);
    expect([...granted.keys()].sort()).toEqual(['dynamodb:GetItem', 's3:PutObject']);
    expect(granted.get('s3:PutObject')).toEqual([`arn:aws:s3:::${bucketName}/index.html`]);
    expect(granted.get('dynamodb:GetItem')).toEqual([
      page.one('aws:dynamodb/table:Table', 'StateTable').state.arn,
    ]);
    // Anyone may read the page, and nothing else; the bucket's public access block allows that policy.
    expect(policyOf(page.one('aws:s3/bucketPolicy:BucketPolicy', 'StatusPagePolicy')).Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${bucketName}/index.html`,
      },
    ]);
    expect(
      page.one('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', 'StatusPagePublicAccess').inputs,
    ).toMatchObject({
      blockPublicAcls: true,
      ignorePublicAcls: true,
      blockPublicPolicy: false,
      restrictPublicBuckets: false,
    });
    expect(
      page.one('aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration', 'StatusPageWebsite').inputs
        .indexDocument,
    ).toEqual({ suffix: 'index.html' });
    expect(page.ofType('aws:cloudfront/distribution:Distribution')).toEqual([]);
  });

  it('outputs where the page is served', () => {
    expect(page.outputs.statusPage).toMatch(/^http:\/\//);
  });
});
