/**
 * The status page behind CloudFront (`STEPOPS_STATUS_PAGE=cloudfront`) under Pulumi's mock
 * runtime: the bucket stays private and only the distribution, through its origin access control,
 * may read the page.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { healthComponentName } from '../../stacks/health.ts';
import { stageSettings } from '../../stacks/settings.ts';
import * as workflow from '../../workflows/health.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import { ACCOUNT, type MockRun, runUnderMocks, statementsOf } from './harness.ts';
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

renderWith('cloudfront');

describe('health stack with a status page behind CloudFront', () => {
  it('cloudfront: keeps the bucket private and lets only this distribution read the page', async () => {
    // Assess
    const bucketName = BUCKET;
    const distribution = page.one('aws:cloudfront/distribution:Distribution', 'StatusPageDistribution');
    expect(
      page.one('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', 'StatusPagePublicAccess').inputs,
    ).toMatchObject({
      blockPublicAcls: true,
      ignorePublicAcls: true,
      blockPublicPolicy: true,
      restrictPublicBuckets: true,
    });
    expect(policyOf(page.one('aws:s3/bucketPolicy:BucketPolicy', 'StatusPagePolicy')).Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${bucketName}/index.html`,
        Condition: { StringEquals: { 'AWS:SourceArn': distribution.state.arn } },
      },
    ]);
    expect(distribution.inputs).toMatchObject({
      defaultRootObject: 'index.html',
      defaultCacheBehavior: { viewerProtocolPolicy: 'redirect-to-https', allowedMethods: ['GET', 'HEAD'] },
    });
    const origin = (distribution.inputs.origins as { originAccessControlId: string }[])[0];
    expect(origin?.originAccessControlId).toBe('StatusPageOriginAccess-id');
    expect(page.ofType('aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration')).toEqual([]);
  });

  it('still deploys the publish function with the same least privilege', () => {
    const role = `${healthComponentName('publish-status-page')}Role`;
    expect(
      statementsOf(page, role)
        .flatMap((s) => s.Action)
        .sort(),
    ).toEqual(['dynamodb:GetItem', 's3:PutObject']);
    expect(workflow.HEALTH_FUNCTIONS).toContain('publish-status-page');
  });
});
