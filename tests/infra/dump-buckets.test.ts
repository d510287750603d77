/**
 * The dump buckets as the stage creates them, against an S3 that refuses requests signed for the
 * wrong region: each bucket is created in the region every S3 call and presigned URL of its jobs
 * is made for (the stage's region is eu-west-1 here, most hosts are in us-east-1), a bucket
 * declared `existingBucket` is neither created nor given lifecycle rules, and the stage's outputs
 * name each bucket's region.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTarget, registerTarget } from '../../shared/config/registry.ts';
import type { DumpBackupJob, TargetInput } from '../../shared/config/schema.ts';
import { S3DumpLocator } from '../../shared/drivers/aws/s3-dump-locator.ts';
import { taggingHeader } from '../../shared/drivers/aws/s3-object-store.ts';
import { objectStoreFor } from '../../shared/drivers/backups.ts';
import { dumpBuckets } from '../../stacks/backup.ts';
import type { Ec2Target } from '../../stacks/settings.ts';
import { filledTarget, registerFilledTargets } from '../fixtures/filled-targets.ts';
import { type RegionalS3Fake, startRegionalS3 } from '../helpers/s3-region-fake.ts';
import { type MockRun, REGION, runUnderMocks } from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

const BUCKET = 'aws:s3/bucket:Bucket';
const LIFECYCLE = 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration';
/** ai-chat's bucket, declared here as one that exists already, in another region than its hosts. */
const EXISTING = { bucket: 'ai-chat-stepops-backups', region: 'us-west-2' };

let run: MockRun<{ targets: string; dumpBuckets: string }>;
let s3: RegionalS3Fake;
const savedEnv = { ...process.env };

beforeAll(async () => {
  ensureSstPlatform();
  registerFilledTargets();
  const aiChat = filledTarget('ai-chat');
  registerTarget({
    ...aiChat,
    backup: (aiChat.backup ?? []).map((job) =>
      job.type === 'dump' ? { ...job, existingBucket: true, bucketRegion: EXISTING.region } : job,
    ),
  } as TargetInput);
  run = (await runUnderMocks(async () =>
    (await import('../../stacks/index.ts')).createStacks(),
  )) as unknown as MockRun<{ targets: string; dumpBuckets: string }>;

  // The buckets as AWS then holds them: each created one where the stack created it (a resource
  // without `region` goes to the provider's, the stage's region), and the existing one.
  const created = Object.fromEntries(
    run.ofType(BUCKET).map((b) => [String(b.inputs.bucket), String(b.inputs.region ?? REGION)]),
  );
  s3 = await startRegionalS3({ ...created, [EXISTING.bucket]: EXISTING.region });
  process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'ASIAFAKEFAKEFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
  process.env.AWS_SESSION_TOKEN = 'fake-session-token';
}, 240_000);

afterAll(async () => {
  process.env = savedEnv;
  await s3?.close();
});

function dumpJobs(name: string): DumpBackupJob[] {
  return (findTarget(name).backup ?? []).filter((j): j is DumpBackupJob => j.type === 'dump');
}

describe('dump buckets', () => {
  it('uploads, reads, lists and deletes every dump of every target without a request signed for the wrong region', async () => {
    // Prepare
    const targets = run.outputs.targets.split(',').filter((t) => dumpJobs(t).length > 0);
    expect(targets.length).toBeGreaterThanOrEqual(4);

    for (const name of targets) {
      const target = findTarget(name);
      const store = objectStoreFor(target);
      for (const job of dumpJobs(name)) {
        const key = `${job.prefix ? `${job.prefix.replace(/\/+$/, '')}/` : ''}${name}/${job.name}/20260301T020000Z-r1`;
        const tags = { 'stepops:target': name, 'stepops:backup': job.name, 'stepops:run': 'r1' };

        // Act: the host's PUT to the presigned URL, then the Lambdas' own calls
        const url = await store.uploadUrl(job.bucket, key, tags, 600);
        const put = await fetch(url, {
          method: 'PUT',
          body: 'dump bytes',
          headers: { 'x-amz-tagging': taggingHeader(tags) },
        });
        const head = put.ok ? await store.head(job.bucket, key) : undefined;
        const listed = put.ok ? await store.list(job.bucket, `${name}/`).catch(() => []) : [];
        const newest = put.ok ? await new S3DumpLocator().newestDump(target, job.name) : undefined;
        if (put.ok) await store.remove(job.bucket, key);

        // Assess
        expect(put.status, `${name}/${job.name}: ${await put.text()}`).toBe(200);
        expect(head).toMatchObject({ sizeBytes: 10, tags });
        expect(listed.length + (job.prefix ? 1 : 0)).toBeGreaterThanOrEqual(1);
        expect(newest?.uri).toBe(`s3://${job.bucket}/${key}`);
        expect(s3.objects.get(job.bucket)?.has(key)).toBe(false);
      }
    }
    expect(s3.refused).toEqual([]);
  });

  it("creates each bucket in its jobs' region, and names that region in the stage's outputs", () => {
    // Prepare
    const buckets = run.ofType(BUCKET);
    const docsai = buckets.find((b) => b.inputs.bucket === 'docsai-stepops-backups');
    const zmanim = buckets.find((b) => b.inputs.bucket === 'zmanim-prod-backups');

    // Assess
    expect(docsai?.inputs.region).toBe('us-east-1');
    expect(zmanim?.inputs.region).toBe('eu-west-1');
    for (const lifecycle of run.ofType(LIFECYCLE)) {
      const bucket = buckets.find((b) => lifecycle.inputs.bucket === `${b.name}-id`);
      expect(lifecycle.inputs.region).toBe(bucket?.inputs.region);
    }
    expect(run.outputs.dumpBuckets).toContain('docsai-stepops-backups (us-east-1)');
    expect(run.outputs.dumpBuckets).toContain('zmanim-prod-backups (eu-west-1)');
    expect(run.outputs.dumpBuckets).toContain(`${EXISTING.bucket} (${EXISTING.region}, existing)`);
  });

  it('creates nothing on a bucket declared existing and writes no lifecycle rule on it', () => {
    // Prepare
    const names = run.ofType(BUCKET).map((b) => b.inputs.bucket);
    const rules = run
      .ofType(LIFECYCLE)
      .flatMap((l) => l.inputs.rules as { id: string; filter: { prefix: string } }[]);

    // Assess
    expect(names).not.toContain(EXISTING.bucket);
    expect(rules.filter((r) => r.id.startsWith('stepops-ai-chat-'))).toEqual([]);
    expect(
      run.resources.filter(
        (r) => r.type.startsWith('aws:s3/') && JSON.stringify(r.inputs).includes('ai-chat'),
      ),
    ).toEqual([]);
  });

  it('refuses one bucket named in two regions, or declared existing by one job and not another', () => {
    // Prepare
    const docsai = findTarget('docsai') as Ec2Target;
    const zmanim = findTarget('zmanim') as Ec2Target;
    const shared = (t: Ec2Target, fields: Partial<DumpBackupJob>): Ec2Target => ({
      ...t,
      backup: (t.backup ?? []).map((j) =>
        j.type === 'dump' ? { ...j, bucket: 'one-bucket', ...fields } : j,
      ),
    });

    // Act / Assess
    expect(() => dumpBuckets([shared(docsai, {}), shared(zmanim, {})])).toThrow(
      /"one-bucket" is named in eu-west-1 and us-east-1/,
    );
    expect(() =>
      dumpBuckets([shared(docsai, { existingBucket: true, bucketRegion: 'eu-west-1' }), shared(zmanim, {})]),
    ).toThrow(/declared existingBucket by docsai\/database but not by zmanim/);
  });
});
