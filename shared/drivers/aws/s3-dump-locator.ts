/**
 * Finds the newest dump of a backup job in S3: the dumps of a job are the objects under its prefix,
 * named by their UTC timestamp (`s3://<bucket>/<prefix>/<target>/<job>/<yyyymmddThhmmssZ>`), so the
 * last key of the listing is the newest.
 *
 * IAM: `s3:ListBucket` on the bucket, limited to the prefix; `s3:GetObject` on the dumps for the
 * presigned GET a restore-dump step downloads with.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { DumpBackupJob, Target } from '../../config/schema.ts';
import { dumpBucketRegion } from '../../config/target-values.ts';
import { dumpPrefix } from '../dump-prefix.ts';
import { defaultRegion } from './regions.ts';

const clients = new Map<string, S3Client>();

function s3(region: string | undefined): S3Client {
  const key = region ?? '';
  let client = clients.get(key);
  if (!client) {
    client = new S3Client(region ? { region } : {});
    clients.set(key, client);
  }
  return client;
}

/**
 * The newest dump of a target's `dump` job.
 *
 * @example
 * await new S3DumpLocator().newestDump(target, 'database') // { uri: 's3://b/dumps/docsai/database/20260301T020000Z', at: '…' }
 */
export class S3DumpLocator {
  readonly #client: (region: string | undefined) => S3Client;

  constructor(client?: S3Client) {
    this.#client = client ? () => client : s3;
  }

  async newestDump(target: Target, jobName: string): Promise<{ uri: string; at?: string } | undefined> {
    const job = (target.backup ?? []).find(
      (b): b is DumpBackupJob => b.type === 'dump' && b.name === jobName,
    );
    if (!job) return undefined;
    const prefix = dumpPrefix(target.name, job).replace(`s3://${job.bucket}/`, '');
    // The bucket's own region: S3 refuses a request signed for another one.
    const region = dumpBucketRegion(target, job) ?? defaultRegion();
    let newest: { key: string; at?: Date } | undefined;
    let token: string | undefined;
    do {
      const page = await this.#client(region).send(
        new ListObjectsV2Command({
          Bucket: job.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key || object.Key.endsWith('/')) continue;
        if (!newest || object.Key > newest.key) {
          newest = { key: object.Key, ...(object.LastModified ? { at: object.LastModified } : {}) };
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (!newest) return undefined;
    return { uri: `s3://${job.bucket}/${newest.key}`, ...(newest.at ? { at: newest.at.toISOString() } : {}) };
  }

  /**
   * A presigned GET URL of an `s3://` dump of the target (in its bucket's region), or a `file://`
   * URL as it is.
   *
   * @throws Error when the URI is neither, or names a bucket none of the target's dump jobs uses
   */
  async downloadUrl(target: Target, uri: string, expiresInSeconds: number): Promise<string> {
    return presignedDumpUrl(target, uri, expiresInSeconds, this.#client);
  }
}

/**
 * Where a host downloads a dump with curl: a presigned GET URL (SigV4, in the region of the dump
 * job whose bucket holds it: S3 refuses a URL signed for another region) valid for
 * `expiresInSeconds`, or a `file://` URL as it is.
 *
 * @example
 * await presignedDumpUrl(target, 's3://docsai-backups/dumps/docsai/database/20260301T020000Z', 4200)
 * @throws Error when the URI is neither, or names a bucket none of the target's dump jobs uses
 */
export async function presignedDumpUrl(
  target: Target,
  uri: string,
  expiresInSeconds: number,
  client: (region: string | undefined) => S3Client = s3,
): Promise<string> {
  if (/^file:\/\/\/\S+$/.test(uri)) return uri;
  const match = /^s3:\/\/([a-z0-9.-]+)\/(\S+)$/.exec(uri);
  const job = match
    ? (target.backup ?? []).find((b): b is DumpBackupJob => b.type === 'dump' && b.bucket === match[1])
    : undefined;
  if (!match || !job) throw new Error(`${uri} is not a dump of ${target.name} in S3`);
  const region = dumpBucketRegion(target, job) ?? defaultRegion();
  return getSignedUrl(client(region), new GetObjectCommand({ Bucket: match[1], Key: match[2] }), {
    expiresIn: Math.trunc(expiresInSeconds),
  });
}
