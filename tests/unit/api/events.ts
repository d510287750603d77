/**
 * API Gateway HTTP API (payload format 2.0) events as API Gateway sends them to a Lambda, and a
 * Lambda context, for the deploy API tests.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

/** An event for `routeKey` with lower-cased headers, as API Gateway v2 delivers it. */
export function httpApiEvent(options: {
  method: 'GET' | 'POST';
  path: string;
  routeKey: string;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  pathParameters?: Record<string, string>;
}): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {
    accept: '*/*',
    'content-length': String(Buffer.byteLength(options.body ?? '')),
    host: 'abc123.execute-api.eu-west-1.amazonaws.com',
    'user-agent': 'GitHub-Hookshot/7c2a1f3',
    'x-amzn-trace-id': 'Root=1-65f0c1a2-0123456789abcdef01234567',
    'x-forwarded-for': '192.30.252.1',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
  };
  for (const [key, value] of Object.entries(options.headers ?? {})) headers[key.toLowerCase()] = value;
  return {
    version: '2.0',
    routeKey: options.routeKey,
    rawPath: options.path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: options.method,
        path: options.path,
        protocol: 'HTTP/1.1',
        sourceIp: '192.30.252.1',
        userAgent: headers['user-agent']!,
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: options.routeKey,
      stage: '$default',
      time: '22/Nov/2026:03:30:00 +0000',
      timeEpoch: 1795318200000,
    },
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}

/** A Lambda context good enough for middy and Powertools. */
export function lambdaContext(functionName = 'stepops-test-StartDeploy'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/22/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
