import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handleApproval } from '../../../shared/api/approval.ts';
import { FileApprovalStore } from '../../../shared/drivers/local/file-approval-store.ts';
import type { TaskAnswerer } from '../../../shared/drivers/ports.ts';
import { approvalLink, verifyApprovalLink } from '../../../shared/recovery/approval.ts';
import { ApprovalLinkError } from '../../../shared/recovery/errors.ts';

const SECRET = 'k'.repeat(64);
const NOW = 1_800_000_000;

function parts(url: string) {
  const u = new URL(url);
  const [, , runId, verb] = u.pathname.split('/');
  return {
    runId: decodeURIComponent(runId as string),
    verb: verb as string,
    expires: u.searchParams.get('expires') ?? undefined,
    signature: u.searchParams.get('signature') ?? undefined,
    step: u.searchParams.get('step') ?? undefined,
  };
}

describe('approval links', () => {
  const link = approvalLink(
    { baseUrl: 'https://api.example.com/', secret: SECRET },
    'run-1',
    'approved',
    NOW + 60,
  );

  it('verify what they sign', () => {
    expect(link).toMatch(
      /^https:\/\/api\.example\.com\/approvals\/run-1\/approve\?expires=\d+&signature=[0-9a-f]{64}$/,
    );
    expect(verifyApprovalLink(SECRET, parts(link), NOW)).toBe('approved');
  });

  it.each([
    [
      'a link turned into a reject',
      (p: ReturnType<typeof parts>) => ({ ...p, verb: 'reject' }),
      'signature is not valid',
    ],
    ['another run', (p: ReturnType<typeof parts>) => ({ ...p, runId: 'run-2' }), 'signature is not valid'],
    [
      'a later expiry',
      (p: ReturnType<typeof parts>) => ({ ...p, expires: String(NOW + 9999) }),
      'signature is not valid',
    ],
    [
      'no signature',
      (p: ReturnType<typeof parts>) => ({ ...p, signature: undefined }),
      'signature is not valid',
    ],
    ['an unknown verb', (p: ReturnType<typeof parts>) => ({ ...p, verb: 'delete' }), '/approve or /reject'],
    ['a malformed run id', (p: ReturnType<typeof parts>) => ({ ...p, runId: '../etc' }), 'no valid run'],
  ])('refuse %s', (_what, change, message) => {
    expect(() => verifyApprovalLink(SECRET, change(parts(link)), NOW)).toThrow(message);
  });

  it('refuse an expired link and one signed with another key', () => {
    expect(() => verifyApprovalLink(SECRET, parts(link), NOW + 61)).toThrow(ApprovalLinkError);
    expect(() => verifyApprovalLink('other', parts(link), NOW)).toThrow('signature is not valid');
  });

  it('sign the step of a step’s approval: another step, or none, breaks the signature', () => {
    // Prepare
    const stepLink = approvalLink(
      { baseUrl: 'https://api.example.com', secret: SECRET },
      'run-1',
      'approved',
      NOW + 60,
      'restore-db',
    );

    // Act
    const good = verifyApprovalLink(SECRET, parts(stepLink), NOW);

    // Assess
    expect(stepLink).toContain('&step=restore-db&');
    expect(good).toBe('approved');
    expect(() => verifyApprovalLink(SECRET, { ...parts(stepLink), step: 'swap-names' }, NOW)).toThrow(
      'signature is not valid',
    );
    expect(() => verifyApprovalLink(SECRET, { ...parts(stepLink), step: undefined }, NOW)).toThrow(
      'signature is not valid',
    );
    expect(() => verifyApprovalLink(SECRET, { ...parts(link), step: 'restore-db' }, NOW)).toThrow(
      'signature is not valid',
    );
    expect(() => verifyApprovalLink(SECRET, { ...parts(stepLink), step: 'Bad Step' }, NOW)).toThrow(
      'no valid step',
    );
  });
});

describe('the approval endpoint', () => {
  let home: string;
  let store: FileApprovalStore;
  const answers: string[] = [];
  const answerer: TaskAnswerer = {
    succeed: async (token, output) => {
      answers.push(`success ${token} ${JSON.stringify(output).includes('"approved":true')}`);
    },
    fail: async (token, error) => {
      answers.push(`failure ${token} ${error}`);
    },
  };
  const logger = { info: () => {}, warn: () => {}, error: () => {} };

  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'stepops-approval-'));
    store = new FileApprovalStore({ home: () => home, now: () => NOW });
    answers.length = 0;
    await store.put({
      runId: 'run-1',
      target: 't',
      runbook: 'rb',
      token: 'tok-1',
      expiresAt: NOW + 60,
      status: 'pending',
    });
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  function event(method: string, url: string): APIGatewayProxyEventV2 {
    const p = parts(url);
    return {
      pathParameters: { runId: p.runId, decision: p.verb },
      queryStringParameters: {
        ...(p.step ? { step: p.step } : {}),
        ...(p.expires ? { expires: p.expires } : {}),
        ...(p.signature ? { signature: p.signature } : {}),
      },
      requestContext: { http: { method, sourceIp: '192.0.2.1' } },
    } as unknown as APIGatewayProxyEventV2;
  }
  const deps = () => ({ store, answerer, secret: async () => SECRET, logger, now: () => NOW * 1000 });

  it('GET shows a confirmation page and changes nothing; POST answers the run once', async () => {
    // Prepare
    const link = approvalLink(
      { baseUrl: 'https://api.example.com', secret: SECRET },
      'run-1',
      'rejected',
      NOW + 60,
    );

    // Act
    const shown = await handleApproval(event('GET', link), deps());
    const before = [...answers];
    const posted = await handleApproval(event('POST', link), deps());
    const again = await handleApproval(event('POST', link), deps());

    // Assess
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain('<form method="post">');
    expect(before).toEqual([]);
    expect(posted.statusCode).toBe(200);
    expect(answers).toEqual(['failure tok-1 ApprovalRejectedError']);
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain('already answered');
  });

  it('a link made for one request never answers the next request of the same run', async () => {
    // Prepare: the run's own approval, answered; then the run asks before its step "reboot".
    const settings = { baseUrl: 'https://api.example.com', secret: SECRET };
    const runLink = approvalLink(settings, 'run-1', 'approved', NOW + 60);
    expect((await handleApproval(event('POST', runLink), deps())).statusCode).toBe(200);
    await store.put({
      runId: 'run-1',
      target: 't',
      runbook: 'rb',
      token: 'tok-2',
      expiresAt: NOW + 60,
      status: 'pending',
      step: 'reboot',
    });
    const stepLink = approvalLink(settings, 'run-1', 'approved', NOW + 60, 'reboot');

    // Act
    const replayed = await handleApproval(event('POST', runLink), deps());
    const pendingAfterReplay = (await store.get('run-1'))?.status;
    const answered = await handleApproval(event('POST', stepLink), deps());

    // Assess
    expect(replayed.statusCode).toBe(409);
    expect(replayed.body).toContain('the approval of step &#34;reboot&#34;');
    expect(pendingAfterReplay).toBe('pending');
    expect(answered.statusCode).toBe(200);
    expect(answers).toEqual(['success tok-1 true', 'success tok-2 true']);
  });

  it('answers 403 for a forged or expired link, without touching the run', async () => {
    // Prepare
    const forged = approvalLink(
      { baseUrl: 'https://api.example.com', secret: 'guess' },
      'run-1',
      'approved',
      NOW + 60,
    );
    const expired = approvalLink(
      { baseUrl: 'https://api.example.com', secret: SECRET },
      'run-1',
      'approved',
      NOW - 1,
    );

    // Act
    const a = await handleApproval(event('POST', forged), deps());
    const b = await handleApproval(event('POST', expired), deps());

    // Assess
    expect([a.statusCode, b.statusCode]).toEqual([403, 403]);
    expect(answers).toEqual([]);
    expect((await store.get('run-1'))?.status).toBe('pending');
  });

  it('escapes what it echoes', async () => {
    const link = approvalLink(
      { baseUrl: 'https://api.example.com', secret: SECRET },
      'run-1',
      'approved',
      NOW + 60,
    );
    const response = await handleApproval(
      { ...event('GET', link), pathParameters: { runId: '<b>x', decision: 'approve' } },
      deps(),
    );
    expect(response.statusCode).toBe(403);
    expect(response.body).not.toContain('<b>x');
  });
});
