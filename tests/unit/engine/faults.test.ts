/**
 * The local engine survives what its callers get wrong: input nested thousands of levels deep is
 * refused before the run starts (the library would overflow its stack unseen and never settle), and
 * an event listener that throws (a recording on a full disk) never stops the run.
 */
import { describe, expect, it } from 'vitest';
import {
  createLocalEngine,
  InputTooDeepError,
  MAX_INPUT_DEPTH,
  nestsDeeperThan,
  type StateMachineDefinition,
} from '../../../shared/engine/index.ts';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:step-a';

function machine(): StateMachineDefinition {
  return {
    StartAt: 'A',
    States: {
      A: { Type: 'Task', Resource: ARN, TimeoutSeconds: 5, ResultPath: '$.a', Next: 'Done' },
      Done: { Type: 'Succeed' },
    },
  } as StateMachineDefinition;
}

/** `levels` objects nested one in another, around a number. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { inner: value };
  return value;
}

describe('input nested too deep', () => {
  it('is refused before the run starts, with an error that says so; no handler runs', () => {
    // Prepare
    let called = 0;
    const engine = createLocalEngine(machine(), {
      [ARN]: async () => {
        called += 1;
        return {};
      },
    });

    // Act
    const start = () => engine.start({ target: 'demo', reason: nested(5000) });

    // Assess
    expect(start).toThrow(InputTooDeepError);
    expect(start).toThrow(`the input of the run nests deeper than ${MAX_INPUT_DEPTH} levels`);
    expect(called).toBe(0);
  });

  it('runs input just within the limit to the end', async () => {
    // Prepare
    const engine = createLocalEngine(machine(), { [ARN]: async () => ({ ok: true }) });

    // Act
    const result = await engine.start(nested(MAX_INPUT_DEPTH)).result;

    // Assess
    expect(result.status).toBe('SUCCEEDED');
  });

  it.each([
    [nested(3), 3, false],
    [nested(3), 2, true],
    [[[[]]], 3, false],
    [[[[]]], 2, true],
    [{ a: 1, b: 'x', c: null }, 1, false],
    ['text', 0, false],
  ])('measures %j against %i levels: deeper is %s', (value, max, deeper) => {
    expect(nestsDeeperThan(value, max)).toBe(deeper);
  });

  it('ends on a cyclic value', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(nestsDeeperThan(cyclic, MAX_INPUT_DEPTH)).toBe(true);
  });
});

describe('an event listener that throws', () => {
  it('never stops the run: it ends as it would have, with every event in its trace', async () => {
    // Prepare
    const engine = createLocalEngine(machine(), { [ARN]: async () => ({ ok: true }) });
    let calls = 0;

    // Act
    const result = await engine.start(
      { target: 'demo' },
      {
        onEvent: () => {
          calls += 1;
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        },
      },
    ).result;

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ target: 'demo', a: { ok: true } });
    expect(calls).toBe(result.trace.events.length);
    expect(result.trace.events.at(-1)?.kind).toBe('execution-succeeded');
  });
});
