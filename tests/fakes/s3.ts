/**
 * A stateful S3 (buckets, each in one region, and tagged objects) on aws-sdk-client-mock, answering
 * as S3 documents:
 *
 * - A bucket lives in one region ("Buckets overview", S3 user guide). A request signed for another
 *   region is refused: from the bucket's regional endpoint with `AuthorizationHeaderMalformed`
 *   ("the region 'us-east-1' is wrong; expecting 'eu-west-1'", HTTP 400) when the client's region is
 *   us-east-1 (its endpoint reaches every bucket), otherwise with `PermanentRedirect` (HTTP 301,
 *   "The bucket you are attempting to access must be addressed using the specified endpoint"), both
 *   with the `x-amz-bucket-region` header ("Error responses", S3 API reference).
 * - SDK v3 does not follow that redirect unless the client is built with `followRegionRedirects`
 *   (aws-sdk-js-v3's S3Client configuration; the v2 SDK followed it): the fake serves such a client
 *   from the bucket's region, as the SDK's region-redirect middleware would.
 * - A presigned URL carries its signing region in `X-Amz-Credential`
 *   (`<key>/<date>/<region>/s3/aws4_request`, "Authenticating Requests: Using Query Parameters",
 *   SigV4): {@link FakeS3.fetch} refuses one signed for another region (`AuthorizationQueryParametersError`,
 *   400) or sent to another region's endpoint (`PermanentRedirect`, 301).
 * - `DeleteObject` of a missing key answers 204 (no error); `HeadObject` of one answers 404 `NotFound`.
 */
import {
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { answer, awsError, CallLog, type Input, tagList } from './common.ts';

export interface FakeObject {
  body: string;
  tags: Record<string, string>;
  lastModified: Date;
}

export interface FakeBucket {
  name: string;
  region: string;
  objects: Map<string, FakeObject>;
}

export interface FakeS3 {
  mock: AwsClientStub<S3Client>;
  buckets: Map<string, FakeBucket>;
  addBucket(name: string, region: string): FakeBucket;
  /**
   * What S3 answers to a request on a presigned URL (as a host's `curl` would send it).
   *
   * @example
   * const res = s3.fetch(url, { method: 'PUT', body: 'dump', headers: { 'x-amz-tagging': 'a=b' } });
   * res.status // 200, 301 or 400
   */
  fetch(
    url: string,
    request?: { method?: 'GET' | 'PUT'; body?: string; headers?: Record<string, string> },
  ): { status: number; code?: string; body?: string; bucketRegion?: string };
  restore(): void;
}

/** The region a request reaches and the bucket's, and the error S3 answers when they differ. */
function wrongRegion(bucket: FakeBucket, clientRegion: string): Error | undefined {
  if (clientRegion === bucket.region) return undefined;
  const headers = { 'x-amz-bucket-region': bucket.region };
  if (clientRegion === 'us-east-1') {
    return awsError(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region 'us-east-1' is wrong; expecting '${bucket.region}'`,
      { status: 400, headers },
    );
  }
  return awsError(
    'PermanentRedirect',
    'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
    { status: 301, headers },
  );
}

function parseTagging(header: string | undefined): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(header ?? ''));
}

/**
 * Installs the S3 fake.
 *
 * @example
 * const s3 = fakeS3(log);
 * s3.addBucket('shop-stepops-backups', 'eu-west-1');
 */
export function fakeS3(log: CallLog = new CallLog()): FakeS3 {
  const mock = mockClient(S3Client);
  const buckets = new Map<string, FakeBucket>();

  /** The bucket a request names, as S3 sees it from the client's region. */
  const reach = async (name: string, getClient: () => unknown, region: string): Promise<FakeBucket> => {
    const bucket = buckets.get(name);
    if (!bucket) throw awsError('NoSuchBucket', 'The specified bucket does not exist', { status: 404 });
    const config = (getClient() as { config?: { followRegionRedirects?: boolean } }).config;
    if (config?.followRegionRedirects) return bucket;
    const refused = wrongRegion(bucket, region);
    if (refused) throw refused;
    return bucket;
  };

  const on = <I extends Input, O>(
    command: unknown,
    name: string,
    fn: (input: I, bucket: FakeBucket) => O,
  ) => {
    mock
      .on(command as typeof PutObjectCommand)
      .callsFake(
        answer(log, `s3:${name}`, async (input: I, region, getClient) =>
          fn(input, await reach(input.Bucket, getClient, region)),
        ),
      );
  };

  on(PutObjectCommand, 'PutObject', (input: Input, bucket) => {
    bucket.objects.set(input.Key, {
      body: String(input.Body ?? ''),
      tags: parseTagging(input.Tagging),
      lastModified: new Date(),
    });
    return { ETag: '"etag"' };
  });
  on(HeadObjectCommand, 'HeadObject', (input: Input, bucket) => {
    const found = bucket.objects.get(input.Key);
    if (!found) throw awsError('NotFound', 'Not Found', { status: 404 });
    return { ContentLength: Buffer.byteLength(found.body), LastModified: found.lastModified };
  });
  on(GetObjectTaggingCommand, 'GetObjectTagging', (input: Input, bucket) => {
    const found = bucket.objects.get(input.Key);
    if (!found) throw awsError('NoSuchKey', 'The specified key does not exist.', { status: 404 });
    return { TagSet: tagList(found.tags) };
  });
  on(ListObjectsV2Command, 'ListObjectsV2', (input: Input, bucket) => ({
    Contents: [...bucket.objects]
      .filter(([key]) => key.startsWith(input.Prefix ?? ''))
      .map(([Key, o]) => ({ Key, Size: Buffer.byteLength(o.body), LastModified: o.lastModified })),
    IsTruncated: false,
    KeyCount: bucket.objects.size,
  }));
  on(DeleteObjectCommand, 'DeleteObject', (input: Input, bucket) => {
    bucket.objects.delete(input.Key);
    return {};
  });

  return {
    mock,
    buckets,
    addBucket(name, region) {
      const bucket: FakeBucket = { name, region, objects: new Map() };
      buckets.set(name, bucket);
      return bucket;
    },
    fetch(url, request = {}) {
      const parsed = new URL(url);
      const virtual = /^([a-z0-9.-]+)\.s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$/.exec(parsed.hostname);
      const name = virtual?.[1] ?? parsed.pathname.split('/')[1] ?? '';
      const key = decodeURIComponent(
        virtual ? parsed.pathname.slice(1) : parsed.pathname.split('/').slice(2).join('/'),
      );
      const bucket = buckets.get(name);
      if (!bucket) return { status: 404, code: 'NoSuchBucket' };
      const endpointRegion = virtual?.[2] ?? 'us-east-1';
      const signedRegion = (parsed.searchParams.get('X-Amz-Credential') ?? '').split('/')[2] ?? '';
      if (endpointRegion !== bucket.region && endpointRegion !== 'us-east-1') {
        return { status: 301, code: 'PermanentRedirect', bucketRegion: bucket.region };
      }
      if (signedRegion !== bucket.region) {
        return {
          status: 400,
          code: 'AuthorizationQueryParametersError',
          body: `Error parsing the X-Amz-Credential parameter; the region '${signedRegion}' is wrong; expecting '${bucket.region}'`,
          bucketRegion: bucket.region,
        };
      }
      if ((request.method ?? 'GET') === 'PUT') {
        bucket.objects.set(key, {
          body: request.body ?? '',
          tags: parseTagging(request.headers?.['x-amz-tagging']),
          lastModified: new Date(),
        });
        return { status: 200 };
      }
      const found = bucket.objects.get(key);
      return found ? { status: 200, body: found.body } : { status: 404, code: 'NoSuchKey' };
    },
    restore: () => mock.restore(),
  };
}
