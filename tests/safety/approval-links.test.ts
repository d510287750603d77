/**
 * When an approval counts, written out here: a link is valid only with the HMAC-SHA256 of
 * `stepops-approval\n<run>\n<decision>\n<expires>` under the secret, and only strictly before its
 * expiry; an approval store takes one answer, and none from the expiry on. The signature below is
 * computed by the test from that written format, never by the code under test.
 */
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleApproval } from '../../shared/api/approval.ts';
import { DynamoApprovalStore } from '../../shared/drivers/aws/dynamo-approval-store.ts';
import { FileApprovalStore } from '../../shared/drivers/local/file-approval-store.ts';
import type { ApprovalStore } from '../../shared/drivers/ports.ts';
import { answerApproval, approvalLink, verifyApprovalLink } from '../../shared/recovery/approval.ts';
import { ApprovalClosedError, ApprovalLinkError } from '../../shared/recovery/errors.ts';
import { useStateTables } from './state-table.ts';

const SECRET = 'approval-secret-for-the-safety-tests';

/** The spec of a link's signature. */
function expectedSignature(secret: string, runId: string, decision: string, expires: number): string {
  return createHmac('sha256', secret)
    .update(`stepops-approval\n${runId}\n${decision}\n${expires}`)
    .digest('hex');
}

const runIds = fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/);
const decisions = fc.constantFrom(['approved', 'approve'] as const, ['rejected', 'reject'] as const);

function verify(link: { runId: string; verb: string; expires?: string; signature?: string }, now: number) {
  return verifyApprovalLink(
    SECRET,
    { runId: link.runId, verb: link.verb, expires: link.expires, signature: link.signature },
    now,
  );
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApprovalLinkError);
    return (error as Error).message;
  }
  throw new Error('the link was accepted');
}

describe('when an approval link is valid', () => {
  it('builds the link from the base, the run, the verb, the expiry and the written signature', () => {
    // Act
    const url = approvalLink(
      { baseUrl: 'https://api.example.com//', secret: SECRET },
      'run-1',
      'rejected',
      1_900_000_000,
    );

    // Assess
    expect(url).toBe(
      `https://api.example.com/approvals/run-1/reject?expires=1900000000&signature=${expectedSignature(SECRET, 'run-1', 'rejected', 1_900_000_000)}`,
    );
  });

  it('accepts a signed link strictly before its expiry and never from the expiry on (property)', () => {
    fc.assert(
      fc.property(
        runIds,
        decisions,
        fc.integer({ min: 1, max: 4_000_000_000 }),
        fc.integer({ min: -100_000, max: 100_000 }),
        (runId, [decision, verb], expires, offset) => {
          const now = expires + offset;
          const link = {
            runId,
            verb,
            expires: String(expires),
            signature: expectedSignature(SECRET, runId, decision, expires),
          };
          if (now < expires) expect(verify(link, now)).toBe(decision);
          else expect(refusal(() => verify(link, now))).toBe('the link has expired');
        },
      ),
    );
  });

  it('refuses a link at its expiry second and accepts it the second before', () => {
    // Prepare
    const link = {
      runId: 'run-7',
      verb: 'approve',
      expires: '1000',
      signature: expectedSignature(SECRET, 'run-7', 'approved', 1000),
    };

    // Assess
    expect(verify(link, 999)).toBe('approved');
    expect(refusal(() => verify(link, 1000))).toBe('the link has expired');
  });

  it('refuses any change to a signed link: run, verb, expiry, signature or secret (property)', () => {
    fc.assert(
      fc.property(
        runIds,
        decisions,
        fc.integer({ min: 2_000, max: 4_000_000_000 }),
        fc.nat(63),
        (runId, [decision, verb], expires, at) => {
          const signature = expectedSignature(SECRET, runId, decision, expires);
          const good = { runId, verb, expires: String(expires), signature };
          const flipped =
            signature.slice(0, at) + (signature[at] === '0' ? '1' : '0') + signature.slice(at + 1);
          const now = expires - 1_000;
          expect(verify(good, now)).toBe(decision);
          expect(refusal(() => verify({ ...good, signature: flipped }, now))).toBe(
            'the link signature is not valid',
          );
          expect(
            refusal(() =>
              verify({ ...good, signature: signature.toUpperCase().replace(/[0-9]/g, 'A') }, now),
            ),
          ).toBe('the link signature is not valid');
          expect(refusal(() => verify({ ...good, signature: signature.slice(0, 63) }, now))).toBe(
            'the link signature is not valid',
          );
          expect(
            refusal(() => verify({ ...good, verb: verb === 'approve' ? 'reject' : 'approve' }, now)),
          ).toBe('the link signature is not valid');
          expect(
            refusal(() =>
              verify(
                {
                  ...good,
                  runId:
                    `${runId.slice(0, 79)}x` === runId ? `${runId.slice(0, 79)}y` : `${runId.slice(0, 79)}x`,
                },
                now,
              ),
            ),
          ).toBe('the link signature is not valid');
          expect(refusal(() => verify({ ...good, expires: String(expires + 1) }, now))).toBe(
            'the link signature is not valid',
          );
          expect(refusal(() => verifyApprovalLink(`${SECRET}!`, good, now))).toBe(
            'the link signature is not valid',
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it.each([
    ['no signature', { signature: undefined }, 'the link signature is not valid'],
    ['no expiry', { expires: undefined }, 'the link has no valid expiry'],
    ['an empty expiry', { expires: '' }, 'the link has no valid expiry'],
    ['a negative expiry', { expires: '-5' }, 'the link has no valid expiry'],
    ['a fractional expiry', { expires: '1.5' }, 'the link has no valid expiry'],
    ['an expiry of 13 digits', { expires: '1234567890123' }, 'the link has no valid expiry'],
    ['an expiry with text after it', { expires: '2000x' }, 'the link has no valid expiry'],
    ['an expiry with text before it', { expires: 'x2000' }, 'the link has no valid expiry'],
    [
      'a verb other than approve or reject',
      { verb: 'approved' },
      'the link must end with /approve or /reject',
    ],
    ['an empty run id', { runId: '' }, 'the link names no valid run'],
    ['a run id of 81 characters', { runId: 'r'.repeat(81) }, 'the link names no valid run'],
    ['a run id with a slash', { runId: 'run/1' }, 'the link names no valid run'],
    ['a run id with a newline after it', { runId: 'run-1\n' }, 'the link names no valid run'],
    ['a run id with a dot before it', { runId: '.run-1' }, 'the link names no valid run'],
  ])('refuses a link with %s', (_what, change, message) => {
    // Prepare
    const link = {
      runId: 'run-1',
      verb: 'approve',
      expires: '2000',
      signature: expectedSignature(SECRET, 'run-1', 'approved', 2000),
      ...change,
    };

    // Assess
    expect(refusal(() => verify(link as Parameters<typeof verify>[0], 1000))).toBe(message);
  });

  it('accepts a run id of 80 characters of every allowed kind', () => {
    // Prepare
    const runId = `Az09_-${'x'.repeat(74)}`;
    const link = {
      runId,
      verb: 'reject',
      expires: '999999999999',
      signature: expectedSignature(SECRET, runId, 'rejected', 999_999_999_999),
    };

    // Assess
    expect(verify(link, 1000)).toBe('rejected');
  });
});

const dynamo = useStateTables();
let dir: string;
let homes = 0;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stepops-safety-approvals-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stores: Record<string, (clock: { now: number }) => Promise<ApprovalStore>> = {
  file: async (clock) => {
    homes += 1;
    const home = path.join(dir, String(homes));
    return new FileApprovalStore({ home: () => home, now: () => clock.now });
  },
  dynamo: async (clock) =>
    new DynamoApprovalStore(await dynamo.table(), { client: dynamo.client(), now: () => clock.now }),
};

const pending = (runId: string, expiresAt: number) => ({
  runId,
  target: 'datizmo',
  runbook: 'restore-database',
  token: `token-${runId}`,
  expiresAt,
  status: 'pending' as const,
});

async function closed(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ApprovalClosedError);
  return (error as Error).message;
}

describe.each(Object.keys(stores))('when an approval counts (%s store)', (kind) => {
  const make = stores[kind]!;

  it('takes an answer the second before the expiry, once', async () => {
    // Prepare
    const clock = { now: 5_000 };
    const store = await make(clock);
    await store.put(pending('run-1', 5_100));
    clock.now = 5_099;

    // Act
    const answered = await store.answer('run-1', 'approved', 'ana');

    // Assess
    expect(answered).toMatchObject({
      runId: 'run-1',
      status: 'approved',
      answeredBy: 'ana',
      token: 'token-run-1',
    });
    expect(await closed(store.answer('run-1', 'rejected', 'bob'))).toContain('already answered');
    expect(await store.get('run-1')).toMatchObject({ status: 'approved', answeredBy: 'ana' });
  });

  it('never takes an answer from the expiry on, and leaves the request unanswered', async () => {
    // Prepare
    const clock = { now: 5_000 };
    const store = await make(clock);
    await store.put(pending('run-2', 5_100));
    await store.put(pending('run-3', 5_100));

    // Act
    clock.now = 5_100;
    const atExpiry = await closed(store.answer('run-2', 'approved', 'ana'));
    clock.now = 9_999;
    const later = await closed(store.answer('run-3', 'approved', 'ana'));

    // Assess
    expect(atExpiry).toMatch(/run-2/);
    expect(later).toMatch(/run-3/);
    expect(await store.get('run-2')).toMatchObject({ status: 'pending' });
    expect(await store.get('run-2')).not.toHaveProperty('answeredBy');
  });

  it('refuses an answer to a run that never asked', async () => {
    // Prepare
    const store = await make({ now: 1 });

    // Assess
    expect(await closed(store.answer('run-never', 'approved', 'ana'))).toContain('run-never');
  });
});

describe('the approval endpoint', () => {
  function event(method: string, url: string): APIGatewayProxyEventV2 {
    const u = new URL(url);
    const [, , runId, decision] = u.pathname.split('/');
    return {
      pathParameters: { runId: decodeURIComponent(runId!), decision: decision! },
      queryStringParameters: Object.fromEntries(u.searchParams),
      requestContext: { http: { method, sourceIp: '198.51.100.7' } },
    } as unknown as APIGatewayProxyEventV2;
  }

  it('answers the run once on POST, never on GET, and never after the expiry', async () => {
    // Prepare
    const clock = { now: 5_000 };
    const store = await stores.file!(clock);
    await store.put(pending('run-9', 5_100));
    const answers: string[] = [];
    const answerer = {
      succeed: async (token: string) => {
        answers.push(`succeed ${token}`);
      },
      fail: async (token: string, error: string) => {
        answers.push(`fail ${token} ${error}`);
      },
    };
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const deps = { store, answerer, secret: async () => SECRET, logger, now: () => clock.now * 1000 };
    const url = approvalLink(
      { baseUrl: 'https://api.example.com', secret: SECRET },
      'run-9',
      'approved',
      5_100,
    );

    // Act
    const get = await handleApproval(event('GET', url), deps);
    clock.now = 5_100;
    const expired = await handleApproval(event('POST', url), deps);
    clock.now = 5_050;
    const put = await handleApproval(event('PUT', url), deps);
    const post = await handleApproval(event('POST', url), deps);
    const again = await handleApproval(event('POST', url), deps);

    // Assess
    expect([get.statusCode, expired.statusCode, put.statusCode, post.statusCode, again.statusCode]).toEqual([
      200, 403, 405, 200, 409,
    ]);
    expect(answers).toEqual(['succeed token-run-9']);
    expect(await store.get('run-9')).toMatchObject({
      status: 'approved',
      answeredBy: 'approval link (198.51.100.7)',
    });
  });

  it('fails the waiting task with ApprovalRejectedError on a reject', async () => {
    // Prepare
    const store = await stores.file!({ now: 10 });
    await store.put(pending('run-r', 100));
    const calls: unknown[][] = [];
    const answerer = {
      succeed: async (...args: unknown[]) => {
        calls.push(['succeed', ...args]);
      },
      fail: async (...args: unknown[]) => {
        calls.push(['fail', ...args]);
      },
    };

    // Act
    await answerApproval(
      { runId: 'run-r', decision: 'rejected', by: 'ana', comment: 'not now' },
      store,
      answerer,
      () => 0,
    );

    // Assess
    expect(calls).toEqual([
      ['fail', 'token-run-r', 'ApprovalRejectedError', 'rejected by ana: not now; nothing was changed'],
    ]);
  });
});

describe('the approval endpoint pages', () => {
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const noAnswer = {
    succeed: async () => {
      throw new Error('no answer expected');
    },
    fail: async () => {
      throw new Error('no answer expected');
    },
  };
  const HEADERS = {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    'referrer-policy': 'no-referrer',
  };
  const page = (title: string, body: string) =>
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>${title}</h1>${body}</body></html>`;
  const request = (
    method: string | undefined,
    runId: string,
    decision: string,
    query: Record<string, string>,
  ) =>
    ({
      pathParameters: { runId, decision },
      queryStringParameters: query,
      ...(method ? { requestContext: { http: { method } } } : {}),
    }) as unknown as APIGatewayProxyEventV2;
  const signed = (runId: string, decision: 'approved' | 'rejected', expires: number) => ({
    expires: String(expires),
    signature: expectedSignature(SECRET, runId, decision, expires),
  });

  it('shows a confirmation page on GET (the default method), changing nothing', async () => {
    // Prepare
    const store = await stores.file!({ now: 10 });
    const deps = { store, answerer: noAnswer, secret: async () => SECRET, logger, now: () => 10_000 };

    // Act
    const approve = await handleApproval(
      request(undefined, 'run-a', 'approve', signed('run-a', 'approved', 100)),
      deps,
    );
    const reject = await handleApproval(
      request('GET', 'run-a', 'reject', signed('run-a', 'rejected', 100)),
      deps,
    );

    // Assess
    expect(approve).toEqual({
      statusCode: 200,
      headers: HEADERS,
      body: page(
        'Approve recovery run run-a?',
        '<p>This will let the runbook act.</p><form method="post"><button type="submit">Approve</button></form>',
      ),
    });
    expect(reject.body).toBe(
      page(
        'Reject recovery run run-a?',
        '<p>This will end the run, changing nothing.</p><form method="post"><button type="submit">Reject</button></form>',
      ),
    );
  });

  it('refuses a bad link with 403 and the reason, escaped, logging the run id cut to 80 characters', async () => {
    // Prepare
    const warnings: unknown[][] = [];
    const store = await stores.file!({ now: 10 });
    const deps = {
      store,
      answerer: noAnswer,
      secret: async () => SECRET,
      logger: { ...logger, warn: (...args: unknown[]) => void warnings.push(args) },
      now: () => 10_000,
    };
    const longRun = `<b>${'r'.repeat(100)}`;

    // Act
    const refused = await handleApproval(
      request('POST', longRun, 'approve', signed('x', 'approved', 100)),
      deps,
    );
    const noPath = await handleApproval(
      { requestContext: { http: { method: 'POST' } } } as unknown as APIGatewayProxyEventV2,
      deps,
    );

    // Assess
    expect(refused).toEqual({
      statusCode: 403,
      headers: HEADERS,
      body: page('This approval link is not valid', '<p>the link names no valid run.</p>'),
    });
    expect(noPath.statusCode).toBe(403);
    expect(warnings[0]).toEqual([
      'approval link refused',
      { runId: longRun.slice(0, 80), reason: 'the link names no valid run' },
    ]);
  });

  it('answers on POST with the page of the decision, and 409 with the reason once closed', async () => {
    // Prepare
    const store = await stores.file!({ now: 10 });
    await store.put(pending('run-p', 100));
    await store.put(pending('run-q', 100));
    const outputs: unknown[] = [];
    const answerer = {
      succeed: async (_token: string, output: unknown) => void outputs.push(output),
      fail: async (token: string, error: string, cause: string) => void outputs.push({ token, error, cause }),
    };
    const infos: unknown[][] = [];
    const deps = {
      store,
      answerer,
      secret: async () => SECRET,
      logger: { ...logger, info: (...args: unknown[]) => void infos.push(args) },
      now: () => 10_000,
    };

    // Act
    const approved = await handleApproval(
      request('POST', 'run-p', 'approve', signed('run-p', 'approved', 100)),
      deps,
    );
    const rejected = await handleApproval(
      request('POST', 'run-q', 'reject', signed('run-q', 'rejected', 100)),
      deps,
    );
    const closed = await handleApproval(
      request('POST', 'run-q', 'reject', signed('run-q', 'rejected', 100)),
      deps,
    );

    // Assess
    expect(approved).toEqual({
      statusCode: 200,
      headers: HEADERS,
      body: page('Run run-p approved', '<p>The run continues.</p>'),
    });
    expect(rejected.body).toBe(page('Run run-q rejected', '<p>The run ends, having changed nothing.</p>'));
    expect(closed).toEqual({
      statusCode: 409,
      headers: HEADERS,
      body: page(
        'This approval is closed',
        '<p>the approval of run run-q was already answered (rejected by approval link (unknown address)).</p>',
      ),
    });
    expect(outputs).toEqual([
      { approved: true, by: 'approval link (unknown address)', at: expect.any(String) },
      {
        token: 'token-run-q',
        error: 'ApprovalRejectedError',
        cause: 'rejected by approval link (unknown address); nothing was changed',
      },
    ]);
    expect(infos).toEqual([
      ['approval answered', { runId: 'run-p', decision: 'approved' }],
      ['approval answered', { runId: 'run-q', decision: 'rejected' }],
    ]);
  });

  it('passes on errors that are not about the link or the approval', async () => {
    // Prepare
    const store = await stores.file!({ now: 10 });
    const broken = {
      store,
      answerer: noAnswer,
      secret: async () => {
        throw new Error('SSM unavailable');
      },
      logger,
      now: () => 10_000,
    };
    const failing = {
      store: {
        ...store,
        answer: async () => Promise.reject(new Error('DynamoDB unavailable')),
      } as ApprovalStore,
      answerer: noAnswer,
      secret: async () => SECRET,
      logger,
      now: () => 10_000,
    };

    // Assess
    await expect(
      handleApproval(request('GET', 'run-a', 'approve', signed('run-a', 'approved', 100)), broken),
    ).rejects.toThrow('SSM unavailable');
    await expect(
      handleApproval(request('POST', 'run-a', 'approve', signed('run-a', 'approved', 100)), failing),
    ).rejects.toThrow('DynamoDB unavailable');
  });

  it('passes the approver and the comment to the waiting task', async () => {
    // Prepare
    const store = await stores.file!({ now: 10 });
    await store.put(pending('run-c', 100));
    await store.put(pending('run-d', 100));
    const outputs: unknown[][] = [];
    const answerer = {
      succeed: async (...args: unknown[]) => void outputs.push(['succeed', ...args]),
      fail: async (...args: unknown[]) => void outputs.push(['fail', ...args]),
    };

    // Act
    await answerApproval(
      { runId: 'run-c', decision: 'approved', by: 'ana', comment: 'go' },
      store,
      answerer,
      () => 0,
    );
    await answerApproval({ runId: 'run-d', decision: 'rejected', by: 'bob' }, store, answerer, () => 0);

    // Assess
    expect(outputs).toEqual([
      [
        'succeed',
        'token-run-c',
        { approved: true, by: 'ana', at: '1970-01-01T00:00:00.000Z', comment: 'go' },
      ],
      ['fail', 'token-run-d', 'ApprovalRejectedError', 'rejected by bob; nothing was changed'],
    ]);
  });
});

describe('the approval endpoint, odd requests', () => {
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const answerer = { succeed: async () => undefined, fail: async () => undefined };

  it('reads a request without an HTTP method as a GET, and refuses other methods with 405', async () => {
    // Prepare
    const store = await stores.file!({ now: 10 });
    const deps = { store, answerer, secret: async () => SECRET, logger, now: () => 10_000 };
    const query = { expires: '100', signature: expectedSignature(SECRET, 'run-m', 'approved', 100) };
    const event = (requestContext: unknown) =>
      ({
        pathParameters: { runId: 'run-m', decision: 'approve' },
        queryStringParameters: query,
        requestContext,
      }) as unknown as APIGatewayProxyEventV2;

    // Act
    const bare = await handleApproval(event({}), deps);
    const del = await handleApproval(event({ http: { method: 'DELETE' } }), deps);

    // Assess
    expect(bare.statusCode).toBe(200);
    expect(bare.body).toContain('<h1>Approve recovery run run-m?</h1>');
    expect(del.statusCode).toBe(405);
    expect(del.body).toContain('<h1>Method not allowed</h1><p>Use the link, then the button.</p>');
  });

  it('escapes what it shows of an answer given elsewhere', async () => {
    // Prepare: answered from the CLI by someone whose name holds HTML.
    const store = await stores.file!({ now: 10 });
    await store.put(pending('run-h', 100));
    await store.answer('run-h', 'approved', `o'brien <ops> & "co"`);
    const deps = { store, answerer, secret: async () => SECRET, logger, now: () => 10_000 };
    const query = { expires: '100', signature: expectedSignature(SECRET, 'run-h', 'approved', 100) };

    // Act
    const closed = await handleApproval(
      {
        pathParameters: { runId: 'run-h', decision: 'approve' },
        queryStringParameters: query,
        requestContext: { http: { method: 'POST' } },
      } as unknown as APIGatewayProxyEventV2,
      deps,
    );

    // Assess
    expect(closed.statusCode).toBe(409);
    expect(closed.body).toContain('by o&#39;brien &#60;ops&#62; &#38; &#34;co&#34;');
    expect(closed.body).not.toContain('<ops>');
  });
});
