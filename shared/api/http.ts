/**
 * The HTTP edge of the deploy API: reading API Gateway v2 (payload format 2.0) events and writing
 * JSON answers. Pure functions; the handlers call them.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { MAX_INPUT_DEPTH, nestsDeeperThan } from '../engine/depth.ts';
import { ApiError, badRequest } from './errors.ts';

/** Largest body the API reads (GitHub caps webhook payloads at 25 MB; pushes are far smaller). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A header value, looked up case-insensitively (API Gateway v2 lower-cases them, tests may not).
 *
 * @example
 * header(event, 'X-GitHub-Delivery') // '72d3162e-…'
 */
export function header(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/**
 * The body exactly as the client sent it: decoded from base64 when API Gateway encoded it. Signatures
 * are computed over these bytes, never over a re-serialised object.
 *
 * @throws ApiError 400 `MissingBody` when there is no body, `BodyTooLarge` above {@link MAX_BODY_BYTES}
 */
export function rawBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): Buffer {
  if (event.body === undefined || event.body === null || event.body === '') {
    throw badRequest('MissingBody', 'the request has no body: expected a JSON object');
  }
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (bytes.length === 0) throw badRequest('MissingBody', 'the request has no body: expected a JSON object');
  if (bytes.length > MAX_BODY_BYTES) {
    throw badRequest('BodyTooLarge', `the body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  return bytes;
}

/**
 * Parses a JSON body. GitHub webhooks configured with content type `application/x-www-form-urlencoded`
 * send the JSON in a `payload` form field; that is accepted too.
 *
 * @throws ApiError 400 `MalformedJson` when the body is not JSON (the parser's message is not echoed)
 * @throws ApiError 400 `TooDeep` when it nests deeper than `MAX_INPUT_DEPTH` (the local engine would never settle)
 */
export function parseJsonBody(bytes: Buffer, contentType: string | undefined): unknown {
  let text = bytes.toString('utf8');
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw badRequest('MalformedJson', 'expected a "payload" form field holding JSON');
    text = payload;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('MalformedJson', 'the body is not valid JSON');
  }
  if (nestsDeeperThan(body, MAX_INPUT_DEPTH)) {
    throw badRequest('TooDeep', `the body nests deeper than ${MAX_INPUT_DEPTH} levels of objects and arrays`);
  }
  return body;
}

/** A JSON answer. */
export function json(status: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

/** The JSON answer for an error: `{ error: { code, message, field? } }`. */
export function errorResponse(error: ApiError): APIGatewayProxyStructuredResultV2 {
  return json(error.status, {
    error: {
      code: error.code,
      message: error.message,
      ...(error.field !== undefined ? { field: error.field } : {}),
    },
  });
}

/** The answer for an unexpected failure: a 500 that reveals nothing about it. */
export function internalErrorResponse(): APIGatewayProxyStructuredResultV2 {
  return json(500, { error: { code: 'InternalError', message: 'internal error; see the function logs' } });
}

/** Turns what a handler threw into an answer: ApiErrors as themselves, anything else as a 500. */
export function toResponse(error: unknown): APIGatewayProxyStructuredResultV2 {
  return error instanceof ApiError ? errorResponse(error) : internalErrorResponse();
}
