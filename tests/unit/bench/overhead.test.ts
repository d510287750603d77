import { describe, expect, it } from 'vitest';
import {
  detectionLatencyMs,
  overheadNote,
  sleepStep,
  statusReadsPerMinute,
} from '../../../bench/overhead.ts';
import type { RunTrace, TraceEvent } from '../../../shared/engine/index.ts';

function trace(events: Partial<TraceEvent>[]): { trace: RunTrace } {
  return {
    trace: {
      executionName: 'x',
      startedAt: '',
      durationMs: 0,
      status: 'SUCCEEDED',
      events: events.map(
        (e) => ({ kind: 'state-exited', at: 0, elapsedMs: 0, depth: 0, ...e }) as TraceEvent,
      ),
      steps: [],
      transitions: 0,
      invocations: [
        { functionName: 'send-command', state: 'SendDeployCommand', durationMs: 5, ok: true },
        { functionName: 'poll-command', state: 'WaitForDeploy', durationMs: 50_000, ok: true },
        { functionName: 'poll-command', state: 'WaitForDeploy', durationMs: 800, ok: true },
      ],
    },
  };
}

describe('detectionLatencyMs', () => {
  it('measures from the end of the script to the first poll Task that ends after it', () => {
    // Prepare
    const result = trace([
      { state: 'SendDeployCommand', at: 900 },
      { state: 'WaitForDeploy', at: 50_000 },
      { state: 'WaitForDeploy', at: 50_800 },
      { state: 'CheckHealth', at: 50_900 },
    ]);

    // Act
    const latency = detectionLatencyMs(result, 50_300);

    // Assess
    expect(latency).toBe(500);
  });

  it('ignores states of other functions and says nothing when no poll ended after the script', () => {
    const result = trace([
      { state: 'WaitForDeploy', at: 100 },
      { state: 'CheckHealth', at: 900 },
    ]);
    expect(detectionLatencyMs(result, 500)).toBeUndefined();
  });
});

describe('statusReadsPerMinute', () => {
  it('counts the reads of a command’s first minute under a schedule', () => {
    expect(statusReadsPerMinute(250, 500)).toBe(121);
    expect(statusReadsPerMinute(250, 1000)).toBe(62);
    expect(statusReadsPerMinute(100, 100)).toBe(600);
    expect(statusReadsPerMinute(2000, 2000)).toBe(30);
  });
});

describe('sleepStep', () => {
  it('records its own start and end around the sleep, with a whole-second timeout', () => {
    const step = sleepStep(2.9);
    expect(step.script).toMatch(/start=\$\(date \+%s%N\)\nsleep 2\.9\nend=\$\(date \+%s%N\)/);
    expect(step.timeout).toBe(63);
  });
});

describe('overheadNote', () => {
  it('splits each schedule’s overhead into detection and the rest, from the runs that have both', () => {
    // Act
    const note = overheadNote([
      {
        interval: 'fixed 500 ms',
        asBuilt: false,
        longestPauseMs: 500,
        rows: [
          {
            sleepSeconds: 1,
            runs: 3,
            wallMs: [],
            scriptMs: [],
            overheadMs: [600, 700, 650],
            detectionMs: [500, 550],
            medianOverheadMs: 650,
          },
        ],
      },
    ]);

    // Assess
    expect(note).toMatch(
      /fixed 500 ms: detection median 525 ms \(max 550 ms\), the rest median 125 ms, so about 625 ms at worst/,
    );
  });
});
