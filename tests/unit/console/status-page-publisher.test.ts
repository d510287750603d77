import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { shouldPublish } from '../../../shared/console/status-page.ts';
import { publishStatusPage } from '../../../shared/drivers/aws/status-page-publisher.ts';

describe('publishing the status page', () => {
  it('puts the page as HTML with a short cache lifetime', async () => {
    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand).resolves({});
    await publishStatusPage(
      new S3Client({ region: 'eu-west-1' }),
      { bucket: 'stepops-prod-status' },
      '<p>ok</p>',
    );
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input)).toEqual([
      {
        Bucket: 'stepops-prod-status',
        Key: 'index.html',
        Body: '<p>ok</p>',
        ContentType: 'text/html; charset=utf-8',
        CacheControl: 'public, max-age=60',
      },
    ]);
    s3.restore();
  });

  it('publishes on a change at once, else at most every interval', () => {
    const now = 1_000_000;
    expect(shouldPublish({ changed: true, lastPublishedAt: now - 1000, now, everyMs: 300_000 })).toBe(true);
    expect(shouldPublish({ changed: false, lastPublishedAt: undefined, now, everyMs: 300_000 })).toBe(true);
    expect(shouldPublish({ changed: false, lastPublishedAt: now - 299_999, now, everyMs: 300_000 })).toBe(
      false,
    );
    expect(shouldPublish({ changed: false, lastPublishedAt: now - 300_000, now, everyMs: 300_000 })).toBe(
      true,
    );
  });
});
