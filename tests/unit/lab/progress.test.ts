/**
 * The live progress of `stepops run` and `stepops demo`: plain lines off a terminal, a spinner with
 * the same persisted lines on one, and the mapping from engine trace events.
 */
import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration, type ProgressStream } from '../../../cli/progress.ts';
import { progressMapper } from '../../../cli/runs/engine.ts';
import type { TraceEvent } from '../../../shared/engine/index.ts';

function recorder(tty: { isTTY: boolean; columns?: number }): ProgressStream & { text: () => string } {
  let written = '';
  return {
    ...tty,
    write: (chunk: string | Uint8Array) => {
      written += String(chunk);
      return true;
    },
    text: () => written,
    // What ora asks of a TTY stream.
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  } as ProgressStream & { text: () => string };
}

const event = (fields: Partial<TraceEvent> & Pick<TraceEvent, 'kind'>): TraceEvent => ({
  at: 0,
  elapsedMs: 0,
  depth: 0,
  ...fields,
});

describe('createProgress', () => {
  it('writes one plain line per state entered and left, with the duration, off a terminal', () => {
    // Prepare
    const stream = recorder({ isTTY: false });
    const progress = createProgress({ stream });

    // Act
    progress.event({ kind: 'entered', state: 'PlanDeploy' });
    progress.event({ kind: 'left', state: 'PlanDeploy', durationMs: 42 });
    progress.event({
      kind: 'failed',
      state: 'CheckHealth',
      durationMs: 7100,
      error: 'HealthGateFailedError',
    });
    progress.stop();

    // Assess
    expect(stream.text()).toBe(
      '  ▸ PlanDeploy\n  ✔ PlanDeploy  42 ms\n  ✖ CheckHealth  7.1 s  HealthGateFailedError\n',
    );
  });

  it('uses no spinner on a terminal of unknown width', () => {
    // Prepare
    const stream = recorder({ isTTY: true, columns: 0 });
    const progress = createProgress({ stream });

    // Act
    progress.event({ kind: 'entered', state: 'PlanDeploy' });
    progress.stop();

    // Assess
    expect(stream.text()).toBe('  ▸ PlanDeploy\n');
  });

  it('on a terminal, spins on the running state and keeps a line for each state left', () => {
    // Prepare
    const stream = recorder({ isTTY: true, columns: 100 });
    const progress = createProgress({ stream });

    // Act
    progress.event({ kind: 'entered', state: 'AcquireLock' });
    progress.event({ kind: 'left', state: 'AcquireLock', durationMs: 5 });
    progress.stop();

    // Assess
    expect(stream.text()).toContain('AcquireLock');
    expect(stream.text()).toContain('\r  ✔ AcquireLock  5 ms\n');
    expect(stream.text()).not.toContain('▸ AcquireLock');
  });
});

describe('progressMapper', () => {
  it('labels states inside a Map with their iteration and drops the exit a caught state reports', () => {
    // Prepare
    const map = progressMapper();

    // Act
    const shown = [
      event({ kind: 'state-entered', state: 'CheckHealth', iteration: 0, stateType: 'Task' }),
      event({
        kind: 'state-failed',
        state: 'DeployBatches',
        durationMs: 8000,
        error: 'HealthGateFailedError',
      }),
      event({ kind: 'state-caught', state: 'DeployBatches', next: 'PlanRollback' }),
      event({ kind: 'state-exited', state: 'DeployBatches' }),
      event({ kind: 'iteration-failed', state: 'DeployBatches', iteration: 0 }),
    ].map(map);

    // Assess
    expect(shown).toEqual([
      { kind: 'entered', state: 'CheckHealth [0]', stateType: 'Task' },
      { kind: 'failed', state: 'DeployBatches', durationMs: 8000, error: 'HealthGateFailedError' },
      { kind: 'caught', state: 'DeployBatches', error: 'HealthGateFailedError', next: 'PlanRollback' },
      undefined,
      undefined,
    ]);
  });
});

describe('formatDuration', () => {
  it.each([
    [85, '85 ms'],
    [1234, '1.2 s'],
    [125_000, '2 min 5 s'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
