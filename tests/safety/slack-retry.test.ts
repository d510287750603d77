/**
 * Slack's `Retry-After` is slept, not only counted: the waits between attempts are recorded
 * through the injected sleep and compared with what Slack asked (seconds → milliseconds; capped
 * at 30 s without a deadline; honoured in full when a deadline leaves room; given up at once when
 * it does not). No real time passes and no timing is measured.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { postToSlack, SlackPostError } from '../../shared/alerts/slack.ts';

const MESSAGE = { text: 'site is down', blocks: [] };

/** A webhook stand-in answering each POST with the next status (and Retry-After), then 200. */
function webhook(answers: { status: number; retryAfter?: string }[]) {
  const calls: number[] = [];
  const fetch = (async () => {
    calls.push(calls.length + 1);
    const answer = answers.shift() ?? { status: 200 };
    return new Response(answer.status === 200 ? 'ok' : 'rate_limited', {
      status: answer.status,
      headers: answer.retryAfter === undefined ? {} : { 'retry-after': answer.retryAfter },
    });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe("Slack's Retry-After", () => {
  it('sleeps the seconds Slack asks before each retry', async () => {
    // Prepare
    const { fetch, calls } = webhook([
      { status: 429, retryAfter: '7' },
      { status: 503, retryAfter: '2' },
    ]);
    const { waits, sleep } = recordingSleep();

    // Act
    await postToSlack('https://hooks.example/x', MESSAGE, { fetch, sleep, attempts: 3 });

    // Assess
    expect(calls).toHaveLength(3);
    expect(waits).toEqual([7_000, 2_000]);
  });

  it('caps a wait at 30 s without a deadline, and honours a longer one that fits the deadline', async () => {
    // Prepare
    const capped = recordingSleep();
    const honoured = recordingSleep();

    // Act
    await postToSlack('https://hooks.example/x', MESSAGE, {
      fetch: webhook([{ status: 429, retryAfter: '120' }]).fetch,
      sleep: capped.sleep,
      attempts: 2,
    });
    await postToSlack('https://hooks.example/x', MESSAGE, {
      fetch: webhook([{ status: 429, retryAfter: '45' }]).fetch,
      sleep: honoured.sleep,
      attempts: 2,
      now: () => 0,
      deadline: 46_000,
    });

    // Assess
    expect(capped.waits).toEqual([30_000]);
    expect(honoured.waits).toEqual([45_000]);
  });

  it('gives up without sleeping when the wait would end less than a second before the deadline', async () => {
    // Prepare
    const { waits, sleep } = recordingSleep();
    const { fetch, calls } = webhook([{ status: 429, retryAfter: '45' }]);

    // Act
    const error = await postToSlack('https://hooks.example/x', MESSAGE, {
      fetch,
      sleep,
      attempts: 3,
      now: () => 0,
      deadline: 45_999,
    }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SlackPostError);
    expect((error as Error).message).toBe(
      'Slack webhook answered 429 (rate_limited); Retry-After 45 s is longer than the 45 s left, giving up after attempt 1 of 3',
    );
    expect(waits).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('falls back to a jittered exponential backoff when Retry-After is missing or not a positive number', async () => {
    // Prepare
    const { waits, sleep } = recordingSleep();
    const { fetch } = webhook([
      { status: 500 },
      { status: 429, retryAfter: 'soon' },
      { status: 429, retryAfter: '0' },
      { status: 429, retryAfter: '-3' },
    ]);

    // Act
    await postToSlack('https://hooks.example/x', MESSAGE, { fetch, sleep, attempts: 5, baseDelayMs: 1000 });

    // Assess: half to all of 1, 2, 4 and 8 seconds.
    expect(waits).toHaveLength(4);
    waits.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(500 * 2 ** i);
      expect(ms).toBeLessThanOrEqual(1000 * 2 ** i);
    });
  });

  it('sleeps exactly what any Retry-After up to the cap asks (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 4 }),
        async (seconds) => {
          const { waits, sleep } = recordingSleep();
          const { fetch } = webhook(seconds.map((s) => ({ status: 429, retryAfter: String(s) })));
          await postToSlack('https://hooks.example/x', MESSAGE, {
            fetch,
            sleep,
            attempts: seconds.length + 1,
          });
          expect(waits).toEqual(seconds.map((s) => s * 1000));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('does not sleep after the last attempt', async () => {
    // Prepare
    const { waits, sleep } = recordingSleep();
    const { fetch } = webhook([
      { status: 429, retryAfter: '3' },
      { status: 429, retryAfter: '4' },
    ]);

    // Act
    const error = await postToSlack('https://hooks.example/x', MESSAGE, { fetch, sleep, attempts: 2 }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect((error as Error).message).toBe(
      'Slack webhook answered 429 (rate_limited); gave up after 2 attempts',
    );
    expect(waits).toEqual([3_000]);
  });
});
