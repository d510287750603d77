/**
 * What `answerApproval` tells the run and the person answering, with a store and an answerer held in
 * memory: the output of an approval, the cause of a rejection (of the run, or of one step: then the
 * steps before it did run), and, when the run cannot be told, the error that says why and whether
 * the approval is open again. Every expected text is written out here.
 */
import { describe, expect, it } from 'vitest';
import type { ApprovalRecord, ApprovalStore, TaskAnswerer } from '../../../shared/drivers/ports.ts';
import { answerApproval } from '../../../shared/recovery/approval.ts';
import { ApprovalNotDeliveredError, ApprovalRunEndedError } from '../../../shared/recovery/errors.ts';

/** 2027-01-15T08:00:00.000Z */
const NOW_MS = 1_800_000_000_000;

/** A store whose one pending request (of `step`, when given) is answered once; `reopen` may fail. */
function memoryStore(options: { step?: string; reopenFails?: boolean } = {}) {
  const calls: string[] = [];
  const store: ApprovalStore = {
    put: async () => {},
    get: async () => undefined,
    answer: async (runId, decision, by, comment, forStep) => {
      calls.push(`answer ${runId} ${decision} ${by} ${comment ?? '-'} ${forStep ?? '-'}`);
      const record: ApprovalRecord = {
        runId,
        target: 'datizmo',
        runbook: 'restore-database',
        token: 'tok-7',
        expiresAt: 1_800_003_600,
        status: decision,
        answeredBy: by,
        ...(options.step ? { step: options.step } : {}),
      };
      return record;
    },
    reopen: async (runId, decision, by) => {
      calls.push(`reopen ${runId} ${decision} ${by}`);
      if (options.reopenFails) throw new Error('ConditionalCheckFailed');
    },
  };
  return { store, calls };
}

/** An answerer that records what it was told, or throws `thrown` from both calls. */
function recordingAnswerer(thrown?: () => unknown) {
  const told: unknown[] = [];
  const answerer: TaskAnswerer = {
    succeed: async (token, output) => {
      if (thrown) throw thrown();
      told.push({ succeed: token, output });
    },
    fail: async (token, error, cause) => {
      if (thrown) throw thrown();
      told.push({ fail: token, error, cause });
    },
  };
  return { answerer, told };
}

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('answerApproval tells the run', () => {
  it('an approval: who, when and the comment, for the request named', async () => {
    // Prepare
    const { store, calls } = memoryStore();
    const { answerer, told } = recordingAnswerer();

    // Act
    const record = await answerApproval(
      { runId: 'run-7', decision: 'approved', by: 'ana', comment: 'go', step: 'swap-names' },
      store,
      answerer,
      () => NOW_MS,
    );

    // Assess
    expect(calls).toEqual(['answer run-7 approved ana go swap-names']);
    expect(told).toEqual([
      {
        succeed: 'tok-7',
        output: { approved: true, by: 'ana', at: '2027-01-15T08:00:00.000Z', comment: 'go' },
      },
    ]);
    expect(record.status).toBe('approved');
  });

  it('the rejection of one step: that step and the ones after it did not run (the ones before did)', async () => {
    // Prepare
    const { store } = memoryStore({ step: 'swap-names' });
    const { answerer, told } = recordingAnswerer();

    // Act
    await answerApproval(
      { runId: 'run-7', decision: 'rejected', by: 'bo', comment: 'wrong snapshot', step: 'swap-names' },
      store,
      answerer,
      () => NOW_MS,
    );

    // Assess
    expect(told).toEqual([
      {
        fail: 'tok-7',
        error: 'ApprovalRejectedError',
        cause: 'rejected by bo: wrong snapshot; step "swap-names" and the steps after it did not run',
      },
    ]);
  });

  it('the rejection of the run: nothing was changed', async () => {
    // Prepare
    const { store } = memoryStore();
    const { answerer, told } = recordingAnswerer();

    // Act
    await answerApproval({ runId: 'run-7', decision: 'rejected', by: 'bo' }, store, answerer, () => NOW_MS);

    // Assess
    expect(told).toEqual([
      { fail: 'tok-7', error: 'ApprovalRejectedError', cause: 'rejected by bo; nothing was changed' },
    ]);
  });
});

describe('answerApproval when the run cannot be told', () => {
  it('says the answer did not arrive, keeps the error as its cause, and that the approval is open again', async () => {
    // Prepare
    const { store, calls } = memoryStore();
    const thrown = awsError('ThrottlingException', 'Rate exceeded for tok-7');
    const { answerer } = recordingAnswerer(() => thrown);

    // Act
    const error = await answerApproval(
      { runId: 'run-7', decision: 'approved', by: 'ana' },
      store,
      answerer,
      () => NOW_MS,
    ).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ApprovalNotDeliveredError);
    expect((error as Error).message).toBe(
      'the answer could not reach run run-7 (ThrottlingException: Rate exceeded for <task token>); the approval is open again: answer it once more',
    );
    expect((error as Error).cause).toBe(thrown);
    expect(calls).toEqual(['answer run-7 approved ana - -', 'reopen run-7 approved ana']);
  });

  it('does not say the approval is open again when it could not be reopened', async () => {
    // Prepare
    const { store, calls } = memoryStore({ reopenFails: true });
    const { answerer } = recordingAnswerer(() => awsError('ThrottlingException', 'Rate exceeded'));

    // Act
    const error = await answerApproval(
      { runId: 'run-7', decision: 'rejected', by: 'bo' },
      store,
      answerer,
      () => NOW_MS,
    ).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ApprovalNotDeliveredError);
    expect((error as Error).message).toBe(
      'the answer could not reach run run-7 (ThrottlingException: Rate exceeded)',
    );
    expect(calls).toEqual(['answer run-7 rejected bo - -', 'reopen run-7 rejected bo']);
  });

  it.each([
    ['null', () => null, 'the answer could not reach run run-7 (error: undefined)'],
    ['a string', () => 'socket hang up', 'the answer could not reach run run-7 (error: undefined)'],
    [
      'an object whose name is not a string',
      () => ({ name: 42, message: 'odd failure' }),
      'the answer could not reach run run-7 (error: odd failure)',
    ],
  ])('names an error thrown as %s "error", and still reopens', async (_what, thrown, message) => {
    // Prepare
    const { store, calls } = memoryStore();
    const { answerer } = recordingAnswerer(thrown);

    // Act
    const error = await answerApproval(
      { runId: 'run-7', decision: 'approved', by: 'ana' },
      store,
      answerer,
      () => NOW_MS,
    ).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ApprovalNotDeliveredError);
    expect((error as Error).message).toBe(`${message}; the approval is open again: answer it once more`);
    expect(calls).toEqual(['answer run-7 approved ana - -', 'reopen run-7 approved ana']);
  });

  it.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])(
    'says the run has ended when the answerer fails with %s',
    async (name) => {
      // Prepare
      const { store } = memoryStore();
      const { answerer } = recordingAnswerer(() => awsError(name, 'no such task'));

      // Act
      const error = await answerApproval(
        { runId: 'run-7', decision: 'rejected', by: 'bo' },
        store,
        answerer,
        () => NOW_MS,
      ).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ApprovalRunEndedError);
      expect((error as Error).message).toBe(
        `run run-7 no longer waits for approval: it has ended, or its approval timed out (${name}); it was not rejected`,
      );
    },
  );
});
