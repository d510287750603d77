import { describe, expect, it } from 'vitest';
import { formatTimeline, type RunTrace, type TraceStep } from '../../../shared/engine/index.ts';

function step(state: string, startedMs: number): TraceStep {
  return { state, stateType: 'Task', depth: 0, startedMs, durationMs: 5, outcome: 'succeeded', retries: 0 };
}

describe('formatTimeline', () => {
  it('right-aligns the start offsets so the state column lines up past 10 s', () => {
    // Prepare
    const trace: RunTrace = {
      executionName: 'run-1',
      startedAt: '2026-11-22T00:00:00.000Z',
      durationMs: 12_000,
      status: 'SUCCEEDED',
      events: [],
      steps: [step('Early', 5), step('Late', 10_786)],
      transitions: 2,
      invocations: [],
    };

    // Act
    const lines = formatTimeline(trace).split('\n');

    // Assess
    const early = lines.find((l) => l.includes('Early'))!;
    const late = lines.find((l) => l.includes('Late'))!;
    expect(early).toContain(' +0.005s  Early');
    expect(late).toContain('+10.786s  Late');
    expect(early.indexOf('Early')).toBe(late.indexOf('Late'));
  });
});
