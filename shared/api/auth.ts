/**
 * Authentication of deploy requests: GitHub webhook signatures (HMAC-SHA256 over the raw body) and
 * bearer tokens checked against a stored SHA-256 hash. Every comparison runs in constant time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { unauthorized } from './errors.ts';

/**
 * Hex SHA-256 of a string: how a bearer token is stored (`printf %s "$token" | sha256sum`).
 *
 * @example
 * sha256Hex('abc') // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 */
export function sha256Hex(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Compares two byte strings in time that depends only on their lengths. */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    // Still do one comparison so that a length mismatch costs about as much as a byte mismatch.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/**
 * Checks GitHub's `X-Hub-Signature-256` header (`sha256=<hex HMAC-SHA256 of the raw body>`).
 *
 * @example
 * verifyGithubSignature("It's a Secret to Everybody", Buffer.from('Hello, World!'),
 *   'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'); // passes
 * @throws ApiError 401 when the header is missing, malformed or does not match
 */
export function verifyGithubSignature(
  secret: string,
  body: Buffer,
  signatureHeader: string | undefined,
): void {
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(signatureHeader?.trim() ?? '');
  if (!secret || !match) throw unauthorized('invalid webhook signature');
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(match[1]!, 'hex');
  if (!constantTimeEqual(expected, given)) throw unauthorized('invalid webhook signature');
}

/**
 * Checks an `Authorization: Bearer <token>` header against the hex SHA-256 of the expected token.
 *
 * @example
 * verifyBearerToken('Bearer s3cret', sha256Hex('s3cret')); // passes
 * @throws ApiError 401 when the header is missing or malformed, or the token's hash differs
 */
export function verifyBearerToken(authorization: string | undefined, storedHashHex: string): void {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const stored = storedHashHex.trim().toLowerCase();
  if (!match || !/^[0-9a-f]{64}$/.test(stored)) throw unauthorized('invalid bearer token');
  const given = createHash('sha256').update(match[1]!).digest();
  if (!constantTimeEqual(given, Buffer.from(stored, 'hex'))) throw unauthorized('invalid bearer token');
}
