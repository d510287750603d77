import { describe, expect, it } from 'vitest';
import {
  createLocalEngine,
  LAMBDA_CALLBACK_RESOURCE,
  type PendingTask,
  type StateMachineDefinition,
  TaskDoesNotExistError,
  TaskTimedOutError,
  TaskTokens,
  UnsupportedDefinitionError,
} from '../../../shared/engine/index.ts';

const ASK_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:ask';
const ACT_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:act';

/** Ask (callback) → Act; a rejection or a timeout is caught to its own Fail state. */
function machine(timeoutSeconds = 30, heartbeatSeconds?: number): StateMachineDefinition {
  return {
    StartAt: 'Ask',
    States: {
      Ask: {
        Type: 'Task',
        Resource: LAMBDA_CALLBACK_RESOURCE,
        Parameters: {
          FunctionName: ASK_ARN,
          Payload: { 'taskToken.$': '$$.Task.Token', 'run.$': '$$.Execution.Name', 'what.$': '$.what' },
        },
        TimeoutSeconds: timeoutSeconds,
        ...(heartbeatSeconds ? { HeartbeatSeconds: heartbeatSeconds } : {}),
        ResultPath: '$.answer',
        Catch: [
          { ErrorEquals: ['States.Timeout'], ResultPath: '$.failure', Next: 'Expired' },
          { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Refused' },
        ],
        Next: 'Act',
      },
      Act: { Type: 'Task', Resource: ACT_ARN, TimeoutSeconds: 5, End: true },
      Expired: { Type: 'Fail', Error: 'Expired', CausePath: '$.failure.Cause' },
      Refused: { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
    },
  };
}

function harness(definition: StateMachineDefinition) {
  const asked: unknown[] = [];
  const acted: unknown[] = [];
  const tokens = new TaskTokens();
  const engine = createLocalEngine(
    definition,
    {
      [ASK_ARN]: async (event: unknown) => {
        asked.push(event);
        return { sent: true };
      },
      [ACT_ARN]: async (event: unknown) => {
        acted.push(event);
        return { done: true };
      },
    },
    { taskTokens: tokens },
  );
  return { engine, tokens, asked, acted };
}

describe('callback Tasks on the local engine', () => {
  it('invokes the function with a fresh token and continues with the output sendTaskSuccess gives', async () => {
    // Prepare
    const { engine, tokens, asked, acted } = harness(machine());
    let waiting: PendingTask | undefined;

    // Act
    const run = engine.start(
      { what: 'reboot' },
      {
        executionName: 'run-ok',
        onTaskToken: (task) => {
          waiting = task;
          tokens.sendTaskSuccess(task.token, { approved: true, by: 'ana' });
        },
      },
    );
    const result = await run.result;

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const payload = asked[0] as { taskToken: string; run: string; what: string };
    expect(payload.taskToken).toMatch(/^local-/);
    expect(payload).toMatchObject({ run: 'run-ok', what: 'reboot' });
    expect(waiting?.state).toBe('Ask');
    expect(waiting?.token).toBe(payload.taskToken);
    expect(acted).toEqual([{ what: 'reboot', answer: { approved: true, by: 'ana' } }]);
    expect(() => tokens.sendTaskSuccess(payload.taskToken, {})).toThrow(TaskDoesNotExistError);
  });

  it('fails the Task with the error and cause sendTaskFailure gives, without running what follows', async () => {
    // Prepare
    const { engine, tokens, acted } = harness(machine());

    // Act
    const result = await engine.start(
      { what: 'replace' },
      {
        onTaskToken: (task) => tokens.sendTaskFailure(task.token, 'ApprovalRejectedError', 'rejected by bo'),
      },
    ).result;

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ApprovalRejectedError');
    expect(result.cause).toBe('rejected by bo');
    expect(acted).toEqual([]);
  });

  it('is answered later, from outside the run, through the registry', async () => {
    // Prepare
    const { engine, tokens, acted } = harness(machine());
    const run = engine.start({ what: 'restart' }, { executionName: 'run-later' });
    while (tokens.pending('run-later').length === 0) await new Promise((r) => setTimeout(r, 5));

    // Act
    const [task] = tokens.pending('run-later');
    tokens.sendTaskSuccess(task?.token as string, { approved: true });
    const result = await run.result;

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(acted).toHaveLength(1);
  });

  it('times out with States.Timeout when nobody answers within TimeoutSeconds, and refuses a late answer', async () => {
    // Prepare
    const { engine, tokens, acted } = harness(machine(1));
    let token = '';

    // Act
    const result = await engine.start(
      { what: 'restore' },
      {
        onTaskToken: (task) => {
          token = task.token;
        },
      },
    ).result;

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Expired');
    expect(acted).toEqual([]);
    expect(() => tokens.sendTaskSuccess(token, { approved: true })).toThrow(TaskTimedOutError);
  });

  it('times out with States.Timeout when no heartbeat comes within HeartbeatSeconds', async () => {
    // Prepare
    const { engine, acted } = harness(machine(60, 1));

    // Act
    const result = await engine.start({ what: 'restore' }).result;

    // Assess
    expect(result.error).toBe('Expired');
    expect(result.cause).toContain('HeartbeatSeconds');
    expect(acted).toEqual([]);
  });

  it('fails the Task with the function error when the function throws, and the token is void', async () => {
    // Prepare
    const tokens = new TaskTokens();
    let seen = '';
    const engine = createLocalEngine(
      machine(),
      {
        [ASK_ARN]: async (event: { taskToken: string }) => {
          seen = event.taskToken;
          throw Object.assign(new Error('no topic'), { name: 'NotifierError' });
        },
        [ACT_ARN]: async () => ({}),
      },
      { taskTokens: tokens },
    );

    // Act
    const result = await engine.start({ what: 'x' }).result;

    // Assess
    expect(result.error).toBe('NotifierError');
    expect(() => tokens.sendTaskSuccess(seen, {})).toThrow(TaskDoesNotExistError);
  });

  it('refuses a callback Task without a literal FunctionName or without the token in its payload', () => {
    // Prepare
    const definition = machine();
    const ask = definition.States.Ask as { Parameters: Record<string, unknown> };
    ask.Parameters = { 'FunctionName.$': '$.fn', Payload: { 'what.$': '$.what' } };

    // Act
    let error: unknown;
    try {
      createLocalEngine(definition, { [ACT_ARN]: async () => ({}) });
    } catch (thrown) {
      error = thrown;
    }

    // Assess
    expect(error).toBeInstanceOf(UnsupportedDefinitionError);
    const messages = (error as UnsupportedDefinitionError).offences
      .filter((o) => o.path === 'States.Ask')
      .map((o) => o.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining('literal Parameters.FunctionName'),
        expect.stringContaining('$$.Task.Token'),
      ]),
    );
  });
});
