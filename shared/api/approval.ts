/**
 * The approval endpoint: `GET /approvals/{runId}/{approve|reject}?expires=…&signature=…` shows a
 * confirmation page (link previewers and mail scanners fetch links; a GET changes nothing), and
 * `POST` to the same signed URL answers the run once: `SendTaskSuccess` (approve) or
 * `SendTaskFailure` with `ApprovalRejectedError` (reject). The link is HMAC-signed with a secret from
 * SSM, expires with the approval, and is single use through the approval store. An answer that
 * cannot reach the run leaves the approval open (503, try again), or says the run has ended (410).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ApprovalStore, TaskAnswerer } from '../drivers/ports.ts';
import { answerApproval, verifyApprovalLink } from '../recovery/approval.ts';
import {
  ApprovalClosedError,
  ApprovalLinkError,
  ApprovalNotDeliveredError,
  ApprovalRunEndedError,
} from '../recovery/errors.ts';
import type { ApiLogger } from './deploys.ts';

/** Everything the endpoint needs from the outside world. */
export interface ApprovalApiDeps {
  store: ApprovalStore;
  answerer: TaskAnswerer;
  /** The HMAC key (read from SSM at run time). */
  secret(): Promise<string>;
  logger: ApiLogger;
  /** Epoch milliseconds. */
  now?: () => number;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(status: number, title: string, body: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      'referrer-policy': 'no-referrer',
    },
    body: `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
  };
}

/**
 * Handles a request to the approval endpoint.
 *
 * @example
 * const response = await handleApproval(event, { store, answerer, secret: () => secrets.get(name), logger });
 */
export async function handleApproval(
  event: APIGatewayProxyEventV2,
  deps: ApprovalApiDeps,
): Promise<APIGatewayProxyStructuredResultV2> {
  const runId = event.pathParameters?.runId ?? '';
  const verb = event.pathParameters?.decision ?? '';
  const query = event.queryStringParameters ?? {};
  const method = event.requestContext?.http?.method ?? 'GET';
  const nowSeconds = Math.floor((deps.now ?? Date.now)() / 1000);
  let decision: 'approved' | 'rejected';
  try {
    decision = verifyApprovalLink(
      await deps.secret(),
      { runId, verb, expires: query.expires, signature: query.signature, step: query.step },
      nowSeconds,
    );
  } catch (error) {
    if (error instanceof ApprovalLinkError) {
      deps.logger.warn('approval link refused', { runId: runId.slice(0, 80), reason: error.message });
      return page(403, 'This approval link is not valid', `<p>${escapeHtml(error.message)}.</p>`);
    }
    throw error;
  }
  const action = decision === 'approved' ? 'Approve' : 'Reject';
  if (method === 'GET') {
    return page(
      200,
      `${action} ${query.step ? `step ${query.step} of ` : ''}recovery run ${runId}?`,
      `<p>This will ${decision === 'approved' ? 'let the runbook act' : 'end the run, changing nothing'}.</p><form method="post"><button type="submit">${action}</button></form>`,
    );
  }
  if (method !== 'POST') return page(405, 'Method not allowed', '<p>Use the link, then the button.</p>');
  try {
    // A POST came through `requestContext.http` (its method), so that object is there.
    const by = `approval link (${event.requestContext.http.sourceIp || 'unknown address'})`;
    // The link answers the request it was made for: a step's, or (no step) the run's own.
    await answerApproval({ runId, decision, by, step: query.step ?? '' }, deps.store, deps.answerer);
    deps.logger.info('approval answered', { runId, decision });
    return page(
      200,
      `Run ${runId} ${decision}`,
      `<p>The run ${decision === 'approved' ? 'continues' : 'ends, having changed nothing'}.</p>`,
    );
  } catch (error) {
    if (error instanceof ApprovalClosedError) {
      return page(409, 'This approval is closed', `<p>${escapeHtml(error.message)}.</p>`);
    }
    if (error instanceof ApprovalRunEndedError) {
      deps.logger.warn('approval answered after the run ended', { runId, decision });
      return page(410, 'This run no longer waits for approval', `<p>${escapeHtml(error.message)}.</p>`);
    }
    if (error instanceof ApprovalNotDeliveredError) {
      // The message names the run and the AWS error, never the task token.
      deps.logger.error('approval not delivered to the run', { runId, decision, reason: error.message });
      return page(
        503,
        'The run could not be told',
        `<p>The answer did not reach run ${escapeHtml(runId)}; the approval is still open. Try the button again in a moment.</p>`,
      );
    }
    throw error;
  }
}
