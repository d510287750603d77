/** A run's trace rebuilt from its recorded events, for the timeline. */
import {
  type RunTrace,
  type TraceEvent,
  type TraceInvocation,
  TraceRecorder,
} from '../../shared/engine/trace.ts';
import type { RunSummary } from './model.ts';

/**
 * The trace of a run from its events, as `formatTimeline` takes it.
 *
 * @example
 * formatTimeline(traceOf(run, events))
 */
export function traceOf(
  run: RunSummary,
  events: readonly TraceEvent[],
  invocations: readonly TraceInvocation[] = [],
): RunTrace {
  const recorder = new TraceRecorder(run.runId, Date.parse(run.startedAt));
  for (const event of events) {
    const { elapsedMs: _e, durationMs: _d, ...raw } = event;
    recorder.record(raw);
  }
  for (const invocation of invocations) recorder.invocation(invocation);
  return recorder.trace;
}
