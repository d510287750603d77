/**
 * S3 dump store. Hosts upload to a presigned PUT URL made here (so they need `curl`, not the AWS
 * CLI); the object's tags are signed into the URL as the `x-amz-tagging` header, so an object
 * stepops did not create cannot carry them by accident. The bucket's default encryption applies.
 *
 * IAM: `s3:PutObject` and `s3:PutObjectTagging` (the presigned PUT is made with them),
 * `s3:GetObject` (presigned GET for restore tests), `s3:GetObjectTagging`, `s3:ListBucket`,
 * `s3:DeleteObject` (only on objects tagged `stepops:target`).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ObjectStore, StoredObject } from '../ports.ts';
import { defaultRegion } from './regions.ts';

/**
 * The `x-amz-tagging` value of a set of tags.
 *
 * @example
 * taggingHeader({ 'stepops:target': 'shop' }) // 'stepops%3Atarget=shop'
 */
export function taggingHeader(tags: Record<string, string>): string {
  return new URLSearchParams(tags).toString();
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

const clients = new Map<string, S3Client>();
/**
 * The S3 client of a region; checksums only when required, so a presigned PUT carries no checksum
 * of an empty body that the host's upload would then fail.
 */
function s3Client(region: string | undefined): S3Client {
  const key = region ?? defaultRegion() ?? 'us-east-1';
  let client = clients.get(key);
  if (!client) {
    client = new S3Client({ region: key, requestChecksumCalculation: 'WHEN_REQUIRED' });
    clients.set(key, client);
  }
  return client;
}

export interface S3ObjectStoreOptions {
  client?: S3Client;
  /** The region of a bucket that `bucketRegions` does not name. */
  region?: string;
  /**
   * Each bucket's region: every call and presigned URL of a bucket is made for its region (S3
   * refuses a request or URL signed for another one, and SDK v3 does not follow the redirect).
   */
  bucketRegions?: Readonly<Record<string, string>>;
  /** The presigner (injectable for tests). */
  presign?: typeof getSignedUrl;
}

/**
 * @example
 * const store = new S3ObjectStore({ region: 'eu-west-1' });
 * const url = await store.uploadUrl('docsai-backups', 'dumps/docsai/database/20260301T020000Z', tags, 2100);
 */
export class S3ObjectStore implements ObjectStore {
  readonly #clientOf: (bucket: string) => S3Client;
  readonly #presign: typeof getSignedUrl;

  constructor(options: S3ObjectStoreOptions = {}) {
    const { client, region, bucketRegions = {} } = options;
    this.#clientOf = client ? () => client : (bucket) => s3Client(bucketRegions[bucket] ?? region);
    this.#presign = options.presign ?? getSignedUrl;
  }

  uploadUrl(
    bucket: string,
    key: string,
    tags: Record<string, string>,
    expiresInSeconds: number,
  ): Promise<string> {
    return this.#presign(
      this.#clientOf(bucket),
      new PutObjectCommand({ Bucket: bucket, Key: key, Tagging: taggingHeader(tags) }),
      { expiresIn: Math.min(expiresInSeconds, 7 * 86_400), unhoistableHeaders: new Set(['x-amz-tagging']) },
    );
  }

  downloadUrl(bucket: string, key: string, expiresInSeconds: number): Promise<string> {
    return this.#presign(this.#clientOf(bucket), new GetObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: Math.min(expiresInSeconds, 7 * 86_400),
    });
  }

  async #tags(bucket: string, key: string): Promise<Record<string, string>> {
    const output = await this.#clientOf(bucket).send(
      new GetObjectTaggingCommand({ Bucket: bucket, Key: key }),
    );
    return Object.fromEntries((output.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  async head(bucket: string, key: string): Promise<StoredObject | undefined> {
    try {
      const output = await this.#clientOf(bucket).send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        key,
        sizeBytes: output.ContentLength ?? 0,
        lastModified: (output.LastModified ?? new Date(0)).toISOString(),
        tags: await this.#tags(bucket, key),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list(bucket: string, prefix: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    let token: string | undefined;
    do {
      const output: ListObjectsV2CommandOutput = await this.#clientOf(bucket).send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const item of output.Contents ?? []) {
        if (!item.Key) continue;
        objects.push({
          key: item.Key,
          sizeBytes: item.Size ?? 0,
          lastModified: (item.LastModified ?? new Date(0)).toISOString(),
          tags: await this.#tags(bucket, item.Key),
        });
      }
      token = output.IsTruncated ? output.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  async remove(bucket: string, key: string): Promise<void> {
    await this.#clientOf(bucket).send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  uri(bucket: string, key: string): string {
    return `s3://${bucket}/${key}`;
  }
}
