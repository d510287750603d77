/**
 * Finds the newest dump of a backup job in S3: the dumps of a job are the objects under its prefix,
 * named by their UTC timestamp (`s3://<bucket>/<prefix>/<target>/<job>/<yyyymmddThhmmssZ>`), so the
 * last key of the listing is the newest.
 *
 * IAM: `s3:ListBucket` on the bucket, limited to the prefix.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { dumpPrefix } from '../../backup/plan.ts';
import { type DumpBackupJob, dumpBucketRegion, type Target } from '../../config/schema.ts';
import { defaultRegion } from './clients.ts';

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
}
