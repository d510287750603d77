import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  createLocalEngine,
  formatTimeline,
  InvalidDefinitionError,
  type StateMachineDefinition,
  type TraceEvent,
  UnsupportedDefinitionError,
} from '../../../shared/engine/index.ts';

const ARN_A = 'arn:aws:lambda:us-east-1:000000000000:function:step-a';
const ARN_B = 'arn:aws:lambda:us-east-1:000000000000:function:step-b';

class TransientError extends Error {
  constructor() {
    super('rate exceeded');
    this.name = 'Lambda.ServiceException';
  }
}

class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DomainError';
  }
}

/** A machine: A → Map over items (B per item, Fail inside on domain error) → Done; catches to Report. */
function machine(): StateMachineDefinition {
  return {
    StartAt: 'A',
    States: {
      A: {
        Type: 'Task',
        Resource: ARN_A,
        Parameters: { 'name.$': '$$.Execution.Name', 'items.$': '$.items' },
        TimeoutSeconds: 7,
        Retry: [{ ErrorEquals: ['Lambda.ServiceException'], IntervalSeconds: 1, MaxAttempts: 3 }],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Report' }],
        ResultPath: '$.a',
        Next: 'Items',
      },
      Items: {
        Type: 'Map',
        ItemsPath: '$.items',
        MaxConcurrency: 1,
        ItemSelector: { 'item.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index' },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'B',
          States: {
            B: {
              Type: 'Task',
              Resource: ARN_B,
              TimeoutSeconds: 5,
              Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'ItemFailed' }],
              End: true,
            },
            ItemFailed: { Type: 'Fail', Error: 'ItemFailedError', CausePath: '$.failure.Cause' },
          },
        },
        ResultPath: '$.items',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Report' }],
        Next: 'Done',
      },
      Report: { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
      Done: { Type: 'Succeed' },
    },
  };
}

describe('createLocalEngine', () => {
  it('refuses what the local engine cannot run, naming each offence and its state path', () => {
    // Prepare
    const definition = {
      QueryLanguage: 'JSONata',
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
          Assign: { x: 1 },
          Next: 'B',
        },
        B: { Type: 'Task', Resource: 'arn:aws:states:::states:startExecution.sync:2', Next: 'P' },
        P: { Type: 'Pass', Parameters: { nested: { 'text.$': 'States.JsonToString($)' } }, Next: 'M' },
        M: {
          Type: 'Map',
          ItemReader: { Resource: 'arn:aws:states:::s3:getObject' },
          ResultWriter: { Resource: 'arn:aws:states:::s3:putObject' },
          ToleratedFailurePercentage: 10,
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
            StartAt: 'Inner',
            States: { Inner: { Type: 'Task', Resource: ARN_B, End: true } },
          },
          End: true,
        },
      },
    } as unknown as StateMachineDefinition;

    // Act
    let error: unknown;
    try {
      createLocalEngine(definition, { [ARN_A]: async () => ({}) });
    } catch (thrown) {
      error = thrown;
    }

    // Assess
    expect(error).toBeInstanceOf(UnsupportedDefinitionError);
    const offences = (error as UnsupportedDefinitionError).offences;
    const at = (path: string) => offences.filter((o) => o.path === path).map((o) => o.message);
    expect(at('QueryLanguage')).toEqual([expect.stringContaining('JSONata')]);
    expect(at('States.A')).toEqual(
      expect.arrayContaining([expect.stringContaining('Assign'), expect.stringContaining('task token')]),
    );
    expect(at('States.A')).toEqual(expect.arrayContaining([expect.stringContaining('no local handler')]));
    expect(at('States.B')).toEqual(
      expect.arrayContaining([expect.stringContaining('.sync'), expect.stringContaining('no local handler')]),
    );
    expect(at('States.P.Parameters.nested.text.$')).toEqual([expect.stringContaining('States.JsonToString')]);
    expect(at('States.M')).toEqual([expect.stringContaining('ToleratedFailurePercentage')]);
    expect(at('States.M.ItemReader')).toHaveLength(1);
    expect(at('States.M.ResultWriter')).toHaveLength(1);
    expect(at('States.M.ItemProcessor.ProcessorConfig.Mode')).toEqual([
      expect.stringContaining('DISTRIBUTED'),
    ]);
    expect(at('States.M.ItemProcessor.States.Inner')).toEqual([expect.stringContaining(ARN_B)]);
    expect((error as Error).message).toContain('States.M.ItemProcessor.States.Inner: no local handler');
  });

  it('refuses a Task whose resource has no handler, and duplicate state names', () => {
    // Prepare
    const definition = machine();
    const mapState = definition.States.Items as Extract<typeof definition.States.Items, { Type: 'Map' }>;
    mapState.ItemProcessor.States.A = { Type: 'Pass', End: true };

    // Act
    const act = () => createLocalEngine(definition, { [ARN_A]: async () => ({}) });

    // Assess
    expect(act).toThrow(UnsupportedDefinitionError);
    expect(act).toThrow(/States\.Items\.ItemProcessor\.States\.B: no local handler for resource/);
    expect(act).toThrow(/state name "A" is also used at States\.A/);
  });

  it('reports an invalid definition with asl-validator’s messages', () => {
    const definition = {
      StartAt: 'Nowhere',
      States: { A: { Type: 'Pass', End: true } },
    } as StateMachineDefinition;
    expect(() => createLocalEngine(definition, {})).toThrow(InvalidDefinitionError);
  });

  it('runs Tasks like Lambda: context, $$.Execution.Name, retries of transient errors, and a trace', async () => {
    // Prepare
    const contexts: Context[] = [];
    let calls = 0;
    const engine = createLocalEngine(machine(), {
      [ARN_A]: async (event: { name: string; items: number[] }, context) => {
        contexts.push(context);
        calls += 1;
        if (calls === 1) throw new TransientError();
        return { name: event.name, remaining: context.getRemainingTimeInMillis() };
      },
      [ARN_B]: async (event: { item: number; index: number }) => ({
        doubled: event.item * 2,
        index: event.index,
      }),
    });
    const seen: TraceEvent[] = [];

    // Act
    const run = engine.start(
      { items: [1, 2, 3] },
      { executionName: 'run-1', retryIntervalOverrides: { A: 0 }, onEvent: (e) => seen.push(e) },
    );
    const streamed: TraceEvent[] = [];
    for await (const event of run.events) streamed.push(event);
    const result = await run.result;

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      a: { name: 'run-1' },
      items: [
        { doubled: 2, index: 0 },
        { doubled: 4, index: 1 },
        { doubled: 6, index: 2 },
      ],
    });
    const remaining = (result.output as { a: { remaining: number } }).a.remaining;
    expect(remaining).toBeGreaterThan(5_000);
    expect(remaining).toBeLessThanOrEqual(7_000);
    expect(contexts[0]).toMatchObject({ functionName: 'step-a', invokedFunctionArn: ARN_A });
    expect(contexts[0]?.awsRequestId).not.toBe(contexts[1]?.awsRequestId);
    expect(streamed).toEqual(seen);
    const kinds = seen.map(
      (e) => `${e.kind}:${e.state ?? ''}${e.iteration !== undefined ? `[${e.iteration}]` : ''}`,
    );
    expect(kinds.slice(0, 5)).toEqual([
      'execution-started:',
      'state-entered:A',
      'state-failed:A',
      'state-retried:A',
      'state-exited:A',
    ]);
    expect(kinds).toContain('state-exited:B[2]');
    expect(kinds.at(-1)).toBe('execution-succeeded:');
    const failed = seen.find((e) => e.kind === 'state-failed');
    expect(failed?.error).toBe('Lambda.ServiceException');
    expect(JSON.parse(failed?.cause ?? '{}')).toMatchObject({
      errorType: 'Lambda.ServiceException',
      errorMessage: 'rate exceeded',
      trace: expect.any(Array),
    });
    // A, its retry, Items, B ×3, Done
    expect(result.trace.transitions).toBe(7);
    expect(result.trace.invocations.map((i) => `${i.functionName}:${i.ok}`)).toEqual([
      'step-a:false',
      'step-a:true',
      'step-b:true',
      'step-b:true',
      'step-b:true',
    ]);
    expect(result.trace.steps.find((s) => s.state === 'A')).toMatchObject({
      retries: 1,
      outcome: 'succeeded',
    });
    const timeline = formatTimeline(result.trace);
    expect(timeline).toContain('run run-1 · SUCCEEDED');
    expect(timeline).toMatch(/A\s+Task .* retried ×1/);
    expect(timeline).toMatch(/\[2\] B/);
    expect(timeline).toContain('7 state transitions · 5 Lambda invocations');
  });

  it('gives a Catch the Error and Cause AWS Lambda gives, and stops a Map at its first failed iteration', async () => {
    // Prepare
    const items: number[] = [];
    const engine = createLocalEngine(machine(), {
      [ARN_A]: async (event: { items: number[] }) => event,
      [ARN_B]: async (event: { item: number }) => {
        items.push(event.item);
        if (event.item === 2) throw new DomainError('item 2 is bad');
        return event.item;
      },
    });

    // Act
    const result = await engine.start({ items: [1, 2, 3, 4] }).result;
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ItemFailedError');
    expect(JSON.parse(result.cause ?? '')).toMatchObject({
      errorType: 'DomainError',
      errorMessage: 'item 2 is bad',
    });
    expect(items).toEqual([1, 2]);
    expect(result.trace.invocations.map((i) => i.functionName)).toEqual(['step-a', 'step-b', 'step-b']);

    expect(result.trace.events.some((e) => e.iteration === 2 || e.iteration === 3)).toBe(false);
    expect(
      result.trace.events.filter((e) => e.kind === 'state-caught').map((e) => `${e.state}→${e.next}`),
    ).toEqual(['B→ItemFailed', 'Items→Report']);
    expect(formatTimeline(result.trace)).toContain('FAILED ItemFailedError: item 2 is bad');
  });

  it('runs many times on one engine, each run with its own handlers when overridden', async () => {
    const engine = createLocalEngine(machine(), {
      [ARN_A]: async (event: unknown) => event,
      [ARN_B]: async () => 'real',
    });
    const first = await engine.start({ items: [1] }).result;
    const second = await engine.start({ items: [1] }, { handlerOverrides: { [ARN_B]: async () => 'fake' } })
      .result;
    const third = await engine.start({ items: [1, 2] }).result;
    expect((first.output as { items: unknown[] }).items).toEqual(['real']);
    expect((second.output as { items: unknown[] }).items).toEqual(['fake']);
    expect((third.output as { items: unknown[] }).items).toEqual(['real', 'real']);
  });

  it('ends a Task at its TimeoutSeconds with States.Timeout', async () => {
    const definition = machine();
    (definition.States.A as { TimeoutSeconds: number }).TimeoutSeconds = 1;
    const engine = createLocalEngine(definition, {
      [ARN_A]: () => new Promise((resolve) => setTimeout(resolve, 3_000)),
      [ARN_B]: async () => null,
    });
    const result = await engine.start({ items: [] }).result;
    expect(result.error).toBe('States.Timeout');
  });
});
