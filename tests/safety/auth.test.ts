/**
 * Who may start a deploy through the API, written out with published vectors: GitHub's own example
 * of `X-Hub-Signature-256` (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries,
 * "Testing the webhook payload validation") and the SHA-256 of "abc" (FIPS 180-2, appendix B.1).
 * Anything else is a 401 that says nothing of the expected value.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  constantTimeEqual,
  sha256Hex,
  verifyBearerToken,
  verifyGithubSignature,
} from '../../shared/api/auth.ts';
import { ApiError } from '../../shared/api/errors.ts';

const GITHUB_SECRET = "It's a Secret to Everybody";
const GITHUB_BODY = Buffer.from('Hello, World!');
const GITHUB_SIGNATURE = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

function status(fn: () => void): number | 'accepted' {
  try {
    fn();
    return 'accepted';
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('Unauthorized');
    expect((error as ApiError).message).toMatch(/^invalid (webhook signature|bearer token)$/);
    return (error as ApiError).status;
  }
}

describe('GitHub webhook signatures', () => {
  it("accepts GitHub's documented example, with the header trimmed and in either case", () => {
    expect(status(() => verifyGithubSignature(GITHUB_SECRET, GITHUB_BODY, GITHUB_SIGNATURE))).toBe(
      'accepted',
    );
    expect(
      status(() =>
        verifyGithubSignature(
          GITHUB_SECRET,
          GITHUB_BODY,
          ` ${GITHUB_SIGNATURE.toUpperCase().replace('SHA256=', 'sha256=')} `,
        ),
      ),
    ).toBe('accepted');
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the sha1 form', 'sha1=757107ea0eb2509fc211221cce984b8a37570b6d'],
    ['no prefix', GITHUB_SIGNATURE.slice(7)],
    ['63 hex digits', GITHUB_SIGNATURE.slice(0, -1)],
    ['65 hex digits', `${GITHUB_SIGNATURE}0`],
    ['text before it', `x${GITHUB_SIGNATURE}`],
    ['a changed digit', GITHUB_SIGNATURE.replace(/7$/, '8')],
  ])('refuses %s with 401', (_what, header) => {
    expect(status(() => verifyGithubSignature(GITHUB_SECRET, GITHUB_BODY, header))).toBe(401);
  });

  it('refuses a right signature under an empty secret, another secret or another body', () => {
    const emptySigned = `sha256=${createHmac('sha256', '').update(GITHUB_BODY).digest('hex')}`;
    expect(status(() => verifyGithubSignature('', GITHUB_BODY, emptySigned))).toBe(401);
    expect(status(() => verifyGithubSignature(`${GITHUB_SECRET}.`, GITHUB_BODY, GITHUB_SIGNATURE))).toBe(401);
    expect(
      status(() => verifyGithubSignature(GITHUB_SECRET, Buffer.from('Hello, World?'), GITHUB_SIGNATURE)),
    ).toBe(401);
  });

  it('accepts exactly the HMAC-SHA256 of the body under the secret (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(63),
        (secret, bytes, at) => {
          const body = Buffer.from(bytes);
          const hex = createHmac('sha256', secret).update(body).digest('hex');
          expect(status(() => verifyGithubSignature(secret, body, `sha256=${hex}`))).toBe('accepted');
          const flipped = hex.slice(0, at) + (hex[at] === 'a' ? 'b' : 'a') + hex.slice(at + 1);
          expect(status(() => verifyGithubSignature(secret, body, `sha256=${flipped}`))).toBe(401);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('bearer tokens', () => {
  it('stores a token as its hex SHA-256', () => {
    expect(sha256Hex('abc')).toBe(ABC_SHA256);
    expect(sha256Hex(Buffer.from('abc'))).toBe(ABC_SHA256);
  });

  it('accepts the token whose hash is stored, whatever the case of the scheme and the stored hex', () => {
    expect(status(() => verifyBearerToken('Bearer abc', ABC_SHA256))).toBe('accepted');
    expect(status(() => verifyBearerToken('bearer   abc  ', ` ${ABC_SHA256.toUpperCase()}\n`))).toBe(
      'accepted',
    );
  });

  it.each([
    ['no header', undefined, ABC_SHA256],
    ['another scheme', 'Basic abc', ABC_SHA256],
    ['no token', 'Bearer ', ABC_SHA256],
    ['two words', 'Bearer abc def', ABC_SHA256],
    ['text before the scheme', 'xBearer abc', ABC_SHA256],
    ['another token', 'Bearer abd', ABC_SHA256],
    ['a stored hash of 63 digits', 'Bearer abc', ABC_SHA256.slice(1)],
    ['a stored hash that is not hex', 'Bearer abc', `${ABC_SHA256.slice(1)}g`],
    ['no stored hash', 'Bearer abc', ''],
    ['a stored hash with a character before it', 'Bearer abc', `0${ABC_SHA256}`],
    ['a stored hash with a character after it', 'Bearer abc', `${ABC_SHA256}0`],
    ['the stored hash given as the token', `Bearer ${ABC_SHA256}`, ABC_SHA256],
  ])('refuses %s with 401', (_what, header, stored) => {
    expect(status(() => verifyBearerToken(header, stored))).toBe(401);
  });

  it('compares bytes in full: equal only when same length and same bytes', () => {
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
    expect(constantTimeEqual(Buffer.from(''), Buffer.from(''))).toBe(true);
  });
});

describe('what a refusal says', () => {
  it('names what was refused, and nothing of the expected value', () => {
    expect(() => verifyGithubSignature(GITHUB_SECRET, GITHUB_BODY, undefined)).toThrow(
      'invalid webhook signature',
    );
    expect(() => verifyGithubSignature(GITHUB_SECRET, Buffer.from('x'), GITHUB_SIGNATURE)).toThrow(
      'invalid webhook signature',
    );
    expect(() => verifyBearerToken(undefined, ABC_SHA256)).toThrow('invalid bearer token');
    expect(() => verifyBearerToken('Bearer abd', ABC_SHA256)).toThrow('invalid bearer token');
  });
});
