/**
 * A minimal S3 on 127.0.0.1 that knows where each bucket lives and refuses a request signed for
 * another region, as S3 does: "AuthorizationHeaderMalformed … the region 'us-east-1' is wrong;
 * expecting 'eu-west-1'" for a signed request, "AuthorizationQueryParametersError" for a presigned
 * URL (Amazon S3 API Reference, "Error responses", List of error codes). It answers path-style
 * PutObject (with `x-amz-tagging`), HeadObject, GetObject, GetObjectTagging, ListObjectsV2 and
 * DeleteObject; it checks the credential scope's region, not the signature.
 *
 * Point the SDK at it with `AWS_ENDPOINT_URL_S3` (an IP endpoint is addressed path-style).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One stored object. */
export interface FakeObject {
  body: Buffer;
  tags: Record<string, string>;
  lastModified: Date;
}

/** A running fake S3. */
export interface RegionalS3Fake {
  endpoint: string;
  /** Objects by bucket, then key. */
  objects: Map<string, Map<string, FakeObject>>;
  /** Every request refused for its region: `<method> <bucket> signed <region>, bucket in <region>`. */
  refused: string[];
  close(): Promise<void>;
}

function signedRegion(request: IncomingMessage, url: URL): { region?: string; presigned: boolean } {
  const credential = url.searchParams.get('X-Amz-Credential');
  if (credential) return { region: credential.split('/')[2], presigned: true };
  const header = String(request.headers.authorization ?? '');
  const match = /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\/aws4_request/.exec(header);
  return { ...(match?.[1] ? { region: match[1] } : {}), presigned: false };
}

function xml(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'application/xml' });
  response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}

function s3Error(response: ServerResponse, status: number, code: string, message: string, extra = ''): void {
  xml(response, status, `<Error><Code>${code}</Code><Message>${message}</Message>${extra}</Error>`);
}

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Starts the fake with the buckets that exist and their regions.
 *
 * @example
 * const s3 = await startRegionalS3({ 'docsai-backups': 'us-east-1' });
 * process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
 */
export async function startRegionalS3(buckets: Record<string, string>): Promise<RegionalS3Fake> {
  const objects = new Map<string, Map<string, FakeObject>>(
    Object.keys(buckets).map((b) => [b, new Map<string, FakeObject>()]),
  );
  const refused: string[] = [];
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const region = buckets[bucket];
    if (region === undefined)
      return s3Error(response, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    const signed = signedRegion(request, url);
    if (signed.region !== region) {
      refused.push(`${request.method} ${bucket} signed ${signed.region}, bucket in ${region}`);
      return signed.presigned
        ? s3Error(
            response,
            400,
            'AuthorizationQueryParametersError',
            `Error parsing the X-Amz-Credential parameter; the region '${signed.region}' is wrong; expecting '${region}'`,
            `<Region>${region}</Region>`,
          )
        : s3Error(
            response,
            400,
            'AuthorizationHeaderMalformed',
            `The authorization header is malformed; the region '${signed.region}' is wrong; expecting '${region}'`,
            `<Region>${region}</Region>`,
          );
    }
    const store = objects.get(bucket) as Map<string, FakeObject>;
    const found = store.get(key);
    switch (request.method) {
      case 'PUT': {
        const tags = Object.fromEntries(new URLSearchParams(String(request.headers['x-amz-tagging'] ?? '')));
        store.set(key, { body: Buffer.concat(chunks), tags, lastModified: new Date() });
        response.writeHead(200, { etag: '"fake"' });
        return response.end();
      }
      case 'HEAD':
        if (!found) {
          response.writeHead(404);
          return response.end();
        }
        response.writeHead(200, {
          'content-length': String(found.body.length),
          'last-modified': found.lastModified.toUTCString(),
        });
        return response.end();
      case 'DELETE':
        store.delete(key);
        response.writeHead(204);
        return response.end();
      case 'GET': {
        if (key === '' && url.searchParams.get('list-type') === '2') {
          const prefix = url.searchParams.get('prefix') ?? '';
          const keys = [...store.keys()].filter((k) => k.startsWith(prefix)).sort();
          return xml(
            response,
            200,
            `<ListBucketResult><Name>${bucket}</Name><Prefix>${xmlText(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount><IsTruncated>false</IsTruncated>${keys
              .map(
                (k) =>
                  `<Contents><Key>${xmlText(k)}</Key><Size>${store.get(k)?.body.length}</Size><LastModified>${store.get(k)?.lastModified.toISOString()}</LastModified></Contents>`,
              )
              .join('')}</ListBucketResult>`,
          );
        }
        if (!found) return s3Error(response, 404, 'NoSuchKey', 'The specified key does not exist.');
        if (url.searchParams.has('tagging')) {
          return xml(
            response,
            200,
            `<Tagging><TagSet>${Object.entries(found.tags)
              .map(([k, v]) => `<Tag><Key>${xmlText(k)}</Key><Value>${xmlText(v)}</Value></Tag>`)
              .join('')}</TagSet></Tagging>`,
          );
        }
        response.writeHead(200, { 'content-length': String(found.body.length) });
        return response.end(found.body);
      }
      default:
        return s3Error(response, 405, 'MethodNotAllowed', 'not in this fake');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
