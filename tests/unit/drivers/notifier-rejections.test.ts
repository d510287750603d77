/**
 * Notifiers that reject with something that is not an `Error` (`undefined`, a string, a
 * null-prototype object, a throw before any promise): the fan-out reports a readable reason and
 * throws an `Error`, and the notify function ends with a named error whose cause the workflow can read.
 */
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  asNotificationError,
  FanOutNotifier,
  NotificationFailedError,
  rejectionReason,
} from '../../../shared/drivers/fan-out-notifier.ts';
import type { Notification, Notifier } from '../../../shared/drivers/ports.ts';
import { toLambdaTaskError } from '../../../shared/engine/lambda.ts';
import { lambdaContext } from '../api/events.ts';

/** What the notifier the notify function gets rejects with, per test. */
const rejection = vi.hoisted(() => ({ value: undefined as unknown }));

vi.mock('../../../shared/drivers/notifier.ts', () => {
  const rejecting = {
    publish: () => Promise.reject(rejection.value),
  };
  return { notifierFor: () => rejecting, fallbackNotifierFor: () => rejecting };
});

const notification: Notification = {
  target: 'demo',
  workflow: 'deploy',
  outcome: 'failed',
  runId: 'run-1',
  summary: 'deploy of v3 to demo failed at PlanDeploy',
  at: '2026-01-01T00:00:00.000Z',
};

const nullPrototype = (entries: Record<string, unknown>) => Object.assign(Object.create(null), entries);
const rejecting = (value: unknown): Notifier => ({ publish: () => Promise.reject(value) });
const throwingSynchronously = (value: unknown): Notifier => ({
  publish: () => {
    throw value;
  },
});

let stderr = '';
const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
  stderr += String(chunk);
  return true;
});
afterAll(() => spy.mockRestore());
beforeEach(() => {
  stderr = '';
});

describe('rejectionReason', () => {
  it('reads every kind of rejection without throwing', () => {
    // Act & Assess
    expect(rejectionReason(new Error('rate exceeded'))).toBe('rate exceeded');
    expect(rejectionReason(undefined)).toBe('rejected without a reason (undefined)');
    expect(rejectionReason(null)).toBe('rejected with null');
    expect(rejectionReason('Slack is down')).toBe('Slack is down');
    expect(rejectionReason('')).toBe('rejected with an empty string');
    expect(rejectionReason(nullPrototype({ code: 503 }))).toBe('rejected with {"code":503}');
    expect(rejectionReason(Object.create(null))).toBe('rejected with an object without prototype');
    expect(rejectionReason({ message: 'throttled' })).toBe('throttled');
    expect(rejectionReason(42)).toBe('rejected with number 42');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(rejectionReason(cyclic)).toBe('rejected with an empty object');
  });

  it('keeps Errors as they are and wraps anything else in a NotificationFailedError', () => {
    // Prepare
    const error = new TypeError('boom');

    // Act & Assess
    expect(asNotificationError(error)).toBe(error);
    const wrapped = asNotificationError(Object.create(null));
    expect(wrapped).toBeInstanceOf(NotificationFailedError);
    expect(wrapped.name).toBe('NotificationFailedError');
    expect(wrapped.message).toBe('notifier rejected with an object without prototype');
  });
});

describe('FanOutNotifier with non-Error rejections', () => {
  it.each([
    ['undefined', undefined, 'rejected without a reason (undefined)'],
    ['a string', 'SNS said no', 'SNS said no'],
    ['a null-prototype object', nullPrototype({ status: 'down' }), 'rejected with {"status":"down"}'],
  ])('reports a secondary rejecting with %s on stderr and still delivers', async (_kind, value, reason) => {
    // Prepare
    const primary = { publish: vi.fn(async () => {}) };
    const fanOut = new FanOutNotifier(primary, [rejecting(value), throwingSynchronously(value)]);

    // Act
    await fanOut.publish(notification);

    // Assess
    expect(primary.publish).toHaveBeenCalledOnce();
    expect(
      stderr
        .split('\n')
        .filter((l) => l.includes(`secondary notifier failed for deploy demo (run-1): ${reason}`)),
    ).toHaveLength(2);
  });

  it.each([
    ['undefined', undefined, 'notifier rejected without a reason (undefined)'],
    ['a string', 'SNS said no', 'notifier SNS said no'],
    ['a null-prototype object', Object.create(null), 'notifier rejected with an object without prototype'],
  ])('throws a NotificationFailedError when the primary rejects with %s', async (_kind, value, message) => {
    // Prepare
    const fanOut = new FanOutNotifier(throwingSynchronously(value), [{ publish: async () => {} }]);

    // Act
    const error = await fanOut.publish(notification).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(NotificationFailedError);
    expect((error as Error).message).toBe(message);
  });
});

describe('notify function with a notifier that rejects with a non-Error', () => {
  it.each([
    ['undefined', undefined, 'notifier rejected without a reason (undefined)'],
    ['a string', 'topic gone', 'notifier topic gone'],
    ['a null-prototype object', nullPrototype({ reason: 'x' }), 'notifier rejected with {"reason":"x"}'],
  ])('ends with a NotificationFailedError and a readable cause (%s)', async (_kind, value, message) => {
    // Prepare
    rejection.value = value;
    process.env.POWERTOOLS_DEV = 'false';
    const { handler } = await import('../../../functions/notify/handler.ts');
    const input = {
      run: {
        target: 'demo',
        ref: 'v3',
        failures: { PlanDeploy: { Error: 'InvalidInputError', Cause: 'bad ref' } },
      },
      runId: 'run-1',
    };

    // Act
    const thrown = await (handler as unknown as (e: unknown, c: unknown) => Promise<unknown>)(
      input,
      lambdaContext('stepops-test-Notify'),
    ).catch((e: unknown) => e);

    // Assess: what the state sees (the engine's Lambda error, as AWS reports it)
    expect(thrown).toBeInstanceOf(NotificationFailedError);
    const task = toLambdaTaskError(thrown);
    expect(task.name).toBe('NotificationFailedError');
    expect(JSON.parse(task.message)).toMatchObject({
      errorType: 'NotificationFailedError',
      errorMessage: message,
    });
  });
});
