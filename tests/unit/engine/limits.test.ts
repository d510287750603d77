import { describe, expect, it } from 'vitest';
import { createLocalEngine, type StateMachineDefinition } from '../../../shared/engine/index.ts';
import {
  DATA_LIMIT_EXCEEDED,
  payloadBytes,
  STATE_PAYLOAD_LIMIT_BYTES,
} from '../../../shared/engine/limits.ts';

const ARN_A = 'arn:aws:lambda:us-east-1:000000000000:function:big';
const ARN_B = 'arn:aws:lambda:us-east-1:000000000000:function:after';

/** A → B, every error of A caught to Report: a payload over the limit must not be caught. */
function machine(resultPath: string | null): StateMachineDefinition {
  return {
    StartAt: 'A',
    States: {
      A: {
        Type: 'Task',
        Resource: ARN_A,
        TimeoutSeconds: 5,
        Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 2 }],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Report' }],
        ResultPath: resultPath,
        Next: 'B',
      },
      B: { Type: 'Task', Resource: ARN_B, TimeoutSeconds: 5, End: true },
      Report: { Type: 'Succeed' },
    },
  };
}

describe('the local engine’s 256 KiB state payload limit', () => {
  it('fails the run with States.DataLimitExceeded on a Task result over the limit, uncaught and not retried', async () => {
    // Prepare
    let calls = 0;
    let after = 0;
    const engine = createLocalEngine(machine('$.a'), {
      [ARN_A]: async () => {
        calls += 1;
        return { blob: 'x'.repeat(STATE_PAYLOAD_LIMIT_BYTES) };
      },
      [ARN_B]: async () => {
        after += 1;
        return {};
      },
    });

    // Act
    const result = await engine.start({}).result;

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(DATA_LIMIT_EXCEEDED);
    expect(result.cause).toMatch(/the result of Task "A" is \d+ bytes, over the 262144-byte limit/);
    expect(calls).toBe(1);
    expect(after).toBe(0);
    expect(result.trace.events.some((e) => e.kind === 'state-entered' && e.state === 'Report')).toBe(false);
  });

  it('fails the run when a state’s output grows over the limit though each result is under it', async () => {
    // Prepare: the input carries 150 KB and A adds 150 KB more to it.
    let after = 0;
    const engine = createLocalEngine(machine('$.a'), {
      [ARN_A]: async () => 'y'.repeat(150_000),
      [ARN_B]: async () => {
        after += 1;
        return {};
      },
    });

    // Act
    const result = await engine.start({ carried: 'z'.repeat(150_000) }).result;

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: DATA_LIMIT_EXCEEDED });
    expect(result.cause).toMatch(/the output of state "A" is 300\d{3} bytes/);
    expect(after).toBe(0);
  });

  it('lets a run whose payloads stay under the limit succeed', async () => {
    const engine = createLocalEngine(machine(null), {
      [ARN_A]: async () => 'y'.repeat(200_000),
      [ARN_B]: async () => ({ ok: true }),
    });
    const result = await engine.start({ carried: 'z'.repeat(50_000) }).result;
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { ok: true } });
  });

  it('measures payloads as AWS does, in bytes of UTF-8 JSON', () => {
    expect(payloadBytes({ a: 'é' })).toBe(10);
    expect(payloadBytes(undefined)).toBe(4);
  });
});
