/**
 * The local engine counts history events as AWS writes them and fails a run whose history would pass
 * 25,000 events, uncaught, as AWS does ("Maximum execution history size", Step Functions service
 * quotas). The expected counts are written out here from the API reference's event types, not
 * computed by the code under test.
 */
import { describe, expect, it } from 'vitest';
import { createLocalEngine, type StateMachineDefinition } from '../../../shared/engine/index.ts';

const STEP = 'arn:aws:lambda:us-east-1:000000000000:function:step';

/** Step → More? (a Choice) → Step … until `$.n` reaches `$.until`; every error of Step is caught. */
const LOOP: StateMachineDefinition = {
  StartAt: 'Step',
  States: {
    Step: {
      Type: 'Task',
      Resource: STEP,
      TimeoutSeconds: 5,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: 'Caught' }],
      Next: 'More',
    },
    More: {
      Type: 'Choice',
      Choices: [{ Variable: '$.done', BooleanEquals: false, Next: 'Step' }],
      Default: 'Done',
    },
    Done: { Type: 'Succeed' },
    Caught: { Type: 'Succeed' },
  },
};

function loop() {
  let invocations = 0;
  const engine = createLocalEngine(LOOP, {
    [STEP]: async (event: unknown) => {
      invocations += 1;
      const { n, until } = event as { n: number; until: number };
      return { n: n + 1, until, done: n + 1 >= until };
    },
  });
  return { engine, invocations: () => invocations };
}

describe('the history-event limit of a Standard execution', () => {
  it('counts what AWS writes: 5 events per Lambda Task, 2 per Choice or Succeed, 1 to start and 1 to end', async () => {
    // Prepare
    const { engine } = loop();

    // Act
    const result = await engine.start({ n: 0, until: 10 }).result;

    // Assess: ExecutionStarted, 10 × (TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted,
    // LambdaFunctionSucceeded, TaskStateExited, ChoiceStateEntered, ChoiceStateExited),
    // SucceedStateEntered, SucceedStateExited, ExecutionSucceeded
    expect(result.status).toBe('SUCCEEDED');
    expect(result.historyEvents).toBe(1 + 10 * 7 + 2 + 1);
  });

  it('fails a run whose history would pass 25,000 events with States.Runtime, which no Catch handles', async () => {
    // Prepare: 3,600 loops write 1 + 3,600 × 7 = 25,201 events before the end
    const { engine, invocations } = loop();

    // Act
    const result = await engine.start({ n: 0, until: 3_600 }).result;

    // Assess: the run failed where AWS stops it; no Task ran after that, and the Catch did not see it
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.Runtime');
    expect(result.cause).toMatch(/over the 25000-event limit of a Standard execution/);
    expect(invocations()).toBeLessThan(3_600);
    expect(invocations()).toBeGreaterThanOrEqual(3_570);
    expect(result.trace.events.some((e) => e.state === 'Caught')).toBe(false);
  });

  it('a run just under the limit succeeds', async () => {
    // Prepare: 3,500 loops write 1 + 3,500 × 7 + 2 + 1 = 24,504 events
    const { engine } = loop();

    // Act
    const result = await engine.start({ n: 0, until: 3_500 }).result;

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.historyEvents).toBe(24_504);
  });

  it('counts a retried Task (2 more events per retry) and a caught one', async () => {
    // Prepare: the first call fails and is retried, the second fails for good and is caught
    let calls = 0;
    const engine = createLocalEngine(
      {
        StartAt: 'Flaky',
        States: {
          Flaky: {
            Type: 'Task',
            Resource: STEP,
            TimeoutSeconds: 5,
            Retry: [{ ErrorEquals: ['Transient'], IntervalSeconds: 1, MaxAttempts: 1 }],
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Handled' }],
            End: true,
          },
          Handled: { Type: 'Pass', End: true },
        },
      },
      {
        [STEP]: async () => {
          calls += 1;
          throw Object.assign(new Error('no'), { name: calls === 1 ? 'Transient' : 'Broken' });
        },
      },
    );

    // Act
    const result = await engine.start({}, { retryIntervalOverrides: { Flaky: 0 } }).result;

    // Assess: ExecutionStarted; TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted;
    // LambdaFunctionFailed, LambdaFunctionScheduled, LambdaFunctionStarted (the retry);
    // LambdaFunctionFailed, TaskStateExited (caught); PassStateEntered, PassStateExited; ExecutionSucceeded
    expect(result.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
    expect(result.historyEvents).toBe(1 + 3 + 3 + 2 + 2 + 1);
  });
});
