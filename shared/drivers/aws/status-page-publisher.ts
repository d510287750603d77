/**
 * Publishes the public status page to an S3 bucket (served by the bucket's website endpoint or a
 * CloudFront distribution in front of it): one `PutObject` of the rendered HTML. The page is
 * rendered by the caller; this adapter only stores it.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** Where the page goes. */
export interface StatusPageTarget {
  bucket: string;
  /** The object key, `index.html` by default (the website endpoint's index document). */
  key?: string;
}

/** Seconds a browser or CloudFront may keep the page before asking again. */
export const STATUS_PAGE_MAX_AGE = 60;

/**
 * Stores the page. `ContentType` makes browsers render it from the website endpoint (S3 serves the
 * object's stored Content-Type), and `CacheControl` keeps caches from showing it stale for long
 * (Amazon S3 API Reference, PutObject: Content-Type and Cache-Control are stored as system
 * metadata and returned on GET). Needs `s3:PutObject` on the key.
 *
 * @example
 * await publishStatusPage(new S3Client({ region: 'eu-west-1' }), { bucket: 'stepops-prod-status' }, html);
 */
export async function publishStatusPage(
  client: S3Client,
  target: StatusPageTarget,
  html: string,
): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: target.key ?? 'index.html',
      Body: html,
      ContentType: 'text/html; charset=utf-8',
      CacheControl: `public, max-age=${STATUS_PAGE_MAX_AGE}`,
    }),
  );
}

/**
 * The status page publisher of a stage: `publishStatusPage` into its bucket.
 *
 * @example
 * await new S3StatusPagePublisher(new S3Client({ region: 'eu-west-1' }), { bucket: 'stepops-prod-status' }).publish(html);
 */
export class S3StatusPagePublisher {
  readonly #client: S3Client;
  readonly #target: StatusPageTarget;

  constructor(client: S3Client, target: StatusPageTarget) {
    this.#client = client;
    this.#target = target;
  }

  /** Puts the page; returns where it went (`s3://bucket/key`). */
  async publish(html: string): Promise<{ location: string }> {
    await publishStatusPage(this.#client, this.#target, html);
    return { location: `s3://${this.#target.bucket}/${this.#target.key ?? 'index.html'}` };
  }
}
