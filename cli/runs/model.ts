/**
 * What the operator's commands read about runs, wherever they ran: a run's summary (target, ref,
 * outcome, times, who and why) and its trace events. Two sources implement it: a stage's Step
 * Functions executions ({@link ./aws.ts}) and the local runs recorded under `.stepops/runs`
 * ({@link ./local.ts}).
 */

import type { RunTrace, TraceEvent } from '../../shared/engine/trace.ts';
import { InvalidInputError } from '../../shared/errors.ts';

/** How a run stands: as Step Functions names it. */
export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

/** One run of a workflow. */
export interface RunSummary {
  /** The execution name (the run id). */
  runId: string;
  workflow: string;
  status: RunStatus;
  target?: string;
  ref?: string;
  reason?: string;
  requestedBy?: string;
  /** ISO timestamps. */
  startedAt: string;
  stoppedAt?: string;
  error?: string;
  cause?: string;
  /** Where it runs: `local`, or the stage's name. */
  where: string;
  /** The execution ARN (AWS runs). */
  executionArn?: string;
}

/** The events of a run read since the last read. */
export interface RunEventsPage {
  events: TraceEvent[];
  /** Whether the run has ended (its end event was read). */
  ended: boolean;
}

/** Reads a run's events incrementally: each call returns only what is new. */
export interface RunEventReader {
  next(): Promise<RunEventsPage>;
  /** Every event read so far. */
  readonly all: readonly TraceEvent[];
  /** The trace of what was read (for the timeline), with the Lambda invocations it counted. */
  trace(run: RunSummary): RunTrace;
}

/** Where runs are read from. */
export interface RunSource {
  /** `local` or the stage. */
  readonly where: string;
  /** Runs of a workflow, newest first, at most `limit`, of one target when named. */
  list(
    workflow: string,
    options: { target?: string; limit: number; running?: boolean },
  ): Promise<RunSummary[]>;
  /** One run by id; undefined when there is none. */
  describe(runId: string): Promise<RunSummary | undefined>;
  /** A reader of the run's events from the start. */
  events(run: RunSummary): RunEventReader;
}

/** No run, stage or workflow by that name: exit 2. */
export class UnknownRunError extends InvalidInputError {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownRunError';
  }
}

/**
 * The workflow a run id belongs to, when the id alone says it (`<target>-<16 hex>` ids are the
 * deploy API's and CLI's; local ids carry their workflow in the store).
 *
 * @example
 * targetOfRunId('zmanim-3c1f0a9b8e7d6c5b') // 'zmanim'
 */
export function targetOfRunId(runId: string): string | undefined {
  return /^([a-z0-9][a-z0-9-]*)-[0-9a-f]{16}$/.exec(runId)?.[1];
}
