/**
 * Slack alerts: the Block Kit message for a notification, and a poster for incoming webhooks that
 * retries transient failures and never reveals the webhook URL (it is a secret: whoever has it can
 * post to the channel), neither in errors nor in logs.
 */
import type { Notification } from '../drivers/ports.ts';

/** Slack's limits that a message must stay within. */
export const SLACK_LIMITS = { headerText: 150, sectionText: 3000, fieldText: 2000, buttonUrl: 3000 } as const;

interface TextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

/** The Block Kit blocks stepops uses. */
export type SlackBlock =
  | { type: 'header'; text: TextObject & { type: 'plain_text' } }
  | { type: 'section'; text?: TextObject; fields?: TextObject[] }
  | { type: 'context'; elements: TextObject[] }
  | {
      type: 'actions';
      elements: {
        type: 'button';
        text: TextObject & { type: 'plain_text' };
        url: string;
        action_id: string;
        style?: 'primary' | 'danger';
      }[];
    };

/** An incoming-webhook payload: `text` is the fallback shown in notifications. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

const EMOJI: Record<Notification['outcome'], string> = {
  succeeded: ':white_check_mark:',
  failed: ':x:',
  'rolled-back': ':leftwards_arrow_with_hook:',
  'rollback-failed': ':rotating_light:',
  'awaiting-approval': ':raised_hand:',
  skipped: ':fast_forward:',
};

/**
 * Escapes the three characters Slack's mrkdwn treats as control characters.
 *
 * @example
 * escapeMrkdwn('a < b & c') // 'a &lt; b &amp; c'
 */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** Keeps the end of an escaped text within `limit`, cutting at a line start where possible. */
function clipTail(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const marker = '…\n';
  let kept = text.slice(text.length - (limit - marker.length));
  const newline = kept.indexOf('\n');
  if (newline >= 0 && newline < 200) kept = kept.slice(newline + 1);
  // Do not leave half an entity such as `&am` at the start.
  kept = kept.replace(/^[^&;\s]{0,4};/, '');
  return marker + kept;
}

function field(label: string, value: string): TextObject {
  return { type: 'mrkdwn', text: clip(`*${label}*\n${escapeMrkdwn(value)}`, SLACK_LIMITS.fieldText) };
}

/**
 * Builds the Block Kit message for a notification: a header with the outcome's emoji, the summary,
 * fields (target, workflow, outcome, ref, failed state, host), the error, the tail of the command
 * output in a code block, and a button to the execution in the Step Functions console.
 *
 * @example
 * const payload = slackMessage({ target: 'datizmo', workflow: 'deploy', outcome: 'rolled-back', runId: 'r1', summary: 'deploy of v3 failed the health gate and was rolled back', at: new Date().toISOString() });
 * await postToSlack(webhookUrl, payload, { attempts: 3 });
 */
export function slackMessage(notification: Notification): SlackMessage {
  const n = notification;
  const title = `${n.workflow} ${n.target}: ${n.outcome}`;
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: clip(`${EMOJI[n.outcome]} ${title}`, SLACK_LIMITS.headerText),
        emoji: true,
      },
    },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: clip(escapeMrkdwn(n.summary), SLACK_LIMITS.sectionText) },
    },
  ];
  const fields = [
    field('Target', n.target),
    field('Workflow', n.workflow),
    field('Outcome', n.outcome),
    ...(n.ref ? [field('Ref', n.ref)] : []),
    ...(n.failedState ? [field('Failed state', n.failedState)] : []),
    ...(n.host ? [field('Host', n.host)] : []),
  ];
  blocks.push({ type: 'section', fields });
  if (n.error || n.cause) {
    const error = [
      n.error ? `\`${escapeMrkdwn(n.error).replaceAll('`', "'")}\`` : '',
      n.cause ? escapeMrkdwn(n.cause) : '',
    ]
      .filter(Boolean)
      .join(' ');
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: clip(`*Error*\n${error}`, SLACK_LIMITS.sectionText) },
    });
  }
  if (n.outputTail?.trim()) {
    const fence = '```';
    // A fence inside the output would end the code block early.
    const body = escapeMrkdwn(n.outputTail.trimEnd()).replaceAll(fence, "'''");
    const room = SLACK_LIMITS.sectionText - '*Output (tail)*\n'.length - 2 * fence.length - 2;
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `*Output (tail)*\n${fence}\n${clipTail(body, room)}${fence}` },
    });
  }
  const linkable = (url: string | undefined): url is string =>
    !!url && /^https:\/\//.test(url) && url.length <= SLACK_LIMITS.buttonUrl;
  const actionButtons = (n.actions ?? [])
    .filter((a) => linkable(a.url))
    .slice(0, 4)
    .map((a, i) => ({
      type: 'button' as const,
      text: { type: 'plain_text' as const, text: clip(a.label, 75), emoji: false },
      url: a.url,
      action_id: `action-${i}`,
    }));
  if (linkable(n.executionUrl) || actionButtons.length > 0) {
    blocks.push({
      type: 'actions',
      elements: [
        ...actionButtons,
        ...(linkable(n.executionUrl)
          ? [
              {
                type: 'button' as const,
                text: { type: 'plain_text' as const, text: 'Open execution', emoji: false },
                url: n.executionUrl,
                action_id: 'open-execution',
                ...(n.outcome === 'succeeded' ? {} : { style: 'danger' as const }),
              },
            ]
          : []),
      ],
    });
  }
  blocks.push({
    type: 'context',
    elements: [
      { type: 'mrkdwn', text: clip(escapeMrkdwn(`run ${n.runId} · ${n.at}`), SLACK_LIMITS.sectionText) },
    ],
  });
  // The fallback text is mrkdwn too (notifications, screen readers): escaped like the blocks, so
  // that `<!channel>` or `<https://…|link>` in a summary never pings or links.
  return { text: clip(escapeMrkdwn(`${title} — ${n.summary}`), SLACK_LIMITS.sectionText), blocks };
}

/** What a Slack webhook URL must look like: https, no whitespace. */
export const SLACK_WEBHOOK_URL_PATTERN = /^https:\/\/\S+$/;

/** The value of a webhook parameter is not an https URL. The message names the parameter, never the value. */
export class SlackWebhookUrlError extends Error {
  constructor(parameterName: string) {
    super(`the Slack webhook parameter ${parameterName} does not hold an https URL`);
    this.name = 'SlackWebhookUrlError';
  }
}

/**
 * Checks the value read from a webhook parameter: only an https URL is posted to (an http URL would
 * send the alert, and the webhook's secret path, in clear).
 *
 * @example
 * checkWebhookUrl(await secrets.get('/stepops/slack'), '/stepops/slack') // the URL
 * @throws SlackWebhookUrlError naming the parameter, never its value
 */
export function checkWebhookUrl(value: string | undefined, parameterName: string): string {
  if (!value || !SLACK_WEBHOOK_URL_PATTERN.test(value)) throw new SlackWebhookUrlError(parameterName);
  return value;
}

/**
 * Posting to Slack failed; the message never contains the webhook URL.
 *
 * @example
 * try { await postToSlack(url, payload); } catch (error) { if (error instanceof SlackPostError) logger.error(error.message); }
 */
export class SlackPostError extends Error {
  /** HTTP status of the last answer, when there was one. */
  readonly status: number | undefined;

  constructor(message: string, status?: number) {
    super(message);
    this.name = 'SlackPostError';
    this.status = status;
  }
}

export interface PostToSlackOptions {
  /** Tries in all, including the first (default 3). */
  attempts?: number;
  /** The fetch to use; the global `fetch` by default. */
  fetch?: typeof fetch;
  /** Delay before the first retry in ms, doubled each time, with jitter (default 500). */
  baseDelayMs?: number;
  /** Seconds one attempt may take (default 10). */
  timeoutSeconds?: number;
  /** Receives one line per retry and the line that gives up; the URL is never part of it. */
  log?: (message: string) => void;
  /**
   * Epoch milliseconds by which the post must be over (a Lambda's end, less a margin): attempts are
   * cut to the time left, and a wait (`Retry-After` or backoff) that would end past it gives up now.
   */
  deadline?: number;
  /** The clock (epoch ms), for tests. */
  now?: () => number;
  /** Waits between attempts (a timer by default); injectable so tests see every wait. */
  sleep?: (ms: number) => Promise<void>;
}

/** The shortest attempt worth starting before the deadline. */
const MIN_ATTEMPT_MS = 1000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function failureOf(error: unknown): string {
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'did not answer in time';
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return `unreachable (${code})`;
    current = (current as { cause?: unknown }).cause;
  }
  return 'unreachable';
}

/**
 * Posts a message to a Slack incoming webhook. Retries 5xx, 429 (honouring `Retry-After`: capped at
 * 30 s without a deadline; with one, a wait that would end past it gives up at once and logs why)
 * and network errors with exponential backoff; other 4xx answers fail at once. Errors and log lines
 * say what happened (`Slack webhook answered 500`) and never include the URL.
 *
 * @example
 * await postToSlack(await webhookUrl(), slackMessage(notification), { attempts: 4 });
 * @throws SlackPostError after the last attempt, or at once on a 4xx other than 429
 */
export async function postToSlack(
  url: string,
  payload: SlackMessage,
  options: PostToSlackOptions = {},
): Promise<void> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const doFetch = options.fetch ?? fetch;
  const baseDelay = options.baseDelayMs ?? 500;
  const now = options.now ?? Date.now;
  const left = () => (options.deadline === undefined ? Number.POSITIVE_INFINITY : options.deadline - now());
  const body = JSON.stringify(payload);
  let lastProblem = 'Slack webhook was not called';
  let lastStatus: number | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let retryAfterMs: number | undefined;
    const timeoutMs = Math.min((options.timeoutSeconds ?? 10) * 1000, left());
    if (timeoutMs < MIN_ATTEMPT_MS) {
      const line = `${lastProblem}; no time left for attempt ${attempt} of ${attempts}, giving up`;
      options.log?.(line);
      throw new SlackPostError(line, lastStatus);
    }
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Slack answers errors with a short code (`invalid_payload`, `no_service`); anything else is
      // not repeated, since a stand-in or proxy could echo the request.
      const text = (await response.text().catch(() => '')).trim();
      const answer = /^[a-z_]{1,60}$/.test(text) ? text : '';
      if (response.ok) return;
      lastStatus = response.status;
      lastProblem = `Slack webhook answered ${response.status}${answer ? ` (${answer})` : ''}`;
      if (response.status !== 429 && response.status < 500)
        throw new SlackPostError(lastProblem, response.status);
      const retryAfter = Number(response.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter > 0) {
        // Without a deadline, a wait is capped; with one, Slack's wait is honoured if it fits.
        retryAfterMs = (options.deadline === undefined ? Math.min(retryAfter, 30) : retryAfter) * 1000;
      }
    } catch (error) {
      if (error instanceof SlackPostError) throw error;
      lastStatus = undefined;
      lastProblem = `Slack webhook ${failureOf(error)}`;
    }
    if (attempt < attempts) {
      const delay = retryAfterMs ?? Math.round(baseDelay * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
      const remaining = left();
      if (delay + MIN_ATTEMPT_MS > remaining) {
        const asked = retryAfterMs === undefined ? `a retry in ${delay} ms` : `Retry-After ${delay / 1000} s`;
        const line = `${lastProblem}; ${asked} is longer than the ${Math.max(0, Math.floor(remaining / 1000))} s left, giving up after attempt ${attempt} of ${attempts}`;
        options.log?.(line);
        throw new SlackPostError(line, lastStatus);
      }
      options.log?.(`${lastProblem}; retrying in ${delay} ms (attempt ${attempt} of ${attempts})`);
      await (options.sleep ?? sleep)(delay);
    }
  }
  throw new SlackPostError(`${lastProblem}; gave up after ${attempts} attempts`, lastStatus);
}
