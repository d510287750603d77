/**
 * Step Functions execution history (`GetExecutionHistory` events, oldest first) read as the local
 * engine's trace events, so that a run on AWS gets the same live progress and the same timeline as
 * a local run. Streaming: feed pages as they arrive; a failure is decided (retried, caught, final)
 * when the event after it arrives, or at {@link HistoryReader.flush}.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { functionNameOf } from '../../shared/engine/lambda.ts';
import { type RunTrace, type TraceEvent, TraceRecorder } from '../../shared/engine/trace.ts';

type Failure = { error?: string; cause?: string };

const STATE_EVENT = /^(Task|Choice|Pass|Wait|Succeed|Fail|Map|Parallel)State(Entered|Exited)$/;

const FAILURE_DETAILS = [
  'lambdaFunctionFailedEventDetails',
  'lambdaFunctionTimedOutEventDetails',
  'lambdaFunctionStartFailedEventDetails',
  'lambdaFunctionScheduleFailedEventDetails',
  'taskFailedEventDetails',
  'taskTimedOutEventDetails',
  'taskStartFailedEventDetails',
  'taskSubmitFailedEventDetails',
  'activityFailedEventDetails',
  'activityTimedOutEventDetails',
] as const;

function failureOf(event: HistoryEvent): Failure | undefined {
  for (const key of FAILURE_DETAILS) {
    const details = event[key] as Failure | undefined;
    if (details) {
      return {
        ...(details.error ? { error: details.error } : {}),
        ...(details.cause ? { cause: details.cause } : {}),
      };
    }
  }
  return undefined;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

interface OpenState {
  name: string;
  /** When it was entered (epoch ms). */
  enteredAt: number;
  type: string;
  iteration?: number;
  depth: number;
  functionName?: string;
  invokedAt?: number;
}

/**
 * Reads history events into trace events.
 *
 * @example
 * const reader = new HistoryReader();
 * for (const page of pages) for (const e of reader.read(page.events ?? [])) progress(e);
 * const trace = reader.trace('zmanim-3c1f…');
 */
export class HistoryReader {
  readonly #events: TraceEvent[] = [];
  readonly #invocations: {
    functionName: string;
    state: string;
    iteration?: number;
    durationMs: number;
    ok: boolean;
    error?: string;
  }[] = [];
  /** The state being run, innermost last (a Map, then the state inside its iteration). */
  readonly #stack: OpenState[] = [];
  /** Open Map iterations, innermost last. */
  readonly #iterations: { map: string; index: number }[] = [];
  #pending: { state: OpenState; failure: Failure; at: number } | undefined;
  #start: number | undefined;
  #lastId = 0;
  #ended = false;

  /** The id of the newest event read (0 before any). */
  get lastEventId(): number {
    return this.#lastId;
  }

  /** Whether the execution's end event was read. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Every trace event so far. */
  get events(): readonly TraceEvent[] {
    return this.#events;
  }

  /** Reads events (oldest first; ones already read are skipped) and returns the trace events they make. */
  read(events: readonly HistoryEvent[]): TraceEvent[] {
    const out: TraceEvent[] = [];
    for (const event of events) {
      if ((event.id ?? 0) <= this.#lastId) continue;
      this.#lastId = event.id ?? this.#lastId;
      this.#one(event, out);
    }
    this.#events.push(...out);
    return out;
  }

  /** Decides a failure still pending (the history ended on it) and returns what that adds. */
  flush(): TraceEvent[] {
    const out: TraceEvent[] = [];
    this.#settle(undefined, out);
    this.#events.push(...out);
    return out;
  }

  /** The run as a {@link RunTrace} (the same the local engine records), for `formatTimeline`. */
  trace(executionName: string): RunTrace {
    const recorder = new TraceRecorder(executionName, this.#start ?? Date.now());
    for (const event of this.#events) {
      const { elapsedMs: _e, durationMs: _d, ...raw } = event;
      recorder.record(raw);
    }
    for (const invocation of this.#invocations) recorder.invocation(invocation);
    return recorder.trace;
  }

  #base(at: number, state?: OpenState): Omit<TraceEvent, 'kind'> {
    const start = this.#start ?? at;
    return {
      at,
      elapsedMs: Math.max(0, at - start),
      depth: state?.depth ?? this.#iterations.length,
      ...(state ? { state: state.name, stateType: state.type } : {}),
      ...(state?.iteration !== undefined ? { iteration: state.iteration } : {}),
    };
  }

  /** A failure followed by `next`: a retry (another invocation), a catch (another state), or final. */
  #settle(next: HistoryEvent | undefined, out: TraceEvent[]): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    const { state, failure, at } = pending;
    const fields = {
      ...(failure.error ? { error: failure.error } : {}),
      ...(failure.cause ? { cause: failure.cause } : {}),
    };
    const type = next?.type ?? '';
    if (/^(LambdaFunction|Task|Activity)Scheduled$/.test(type)) {
      out.push({ ...this.#base(at, state), kind: 'state-retried', ...fields });
      return;
    }
    out.push({ ...this.#base(at, state), kind: 'state-failed', durationMs: at - state.enteredAt, ...fields });
    const entered = STATE_EVENT.exec(type);
    if (next && entered?.[2] === 'Entered') {
      this.#pop(state);
      out.push({
        ...this.#base(at, state),
        kind: 'state-caught',
        durationMs: at - state.enteredAt,
        ...fields,
        ...(next.stateEnteredEventDetails?.name ? { next: next.stateEnteredEventDetails.name } : {}),
      });
    } else {
      this.#pop(state);
    }
  }

  #pop(state: OpenState): void {
    const index = this.#stack.lastIndexOf(state);
    if (index >= 0) this.#stack.splice(index, 1);
  }

  #one(event: HistoryEvent, out: TraceEvent[]): void {
    const at = event.timestamp ? new Date(event.timestamp).getTime() : Date.now();
    this.#settle(event, out);
    const type = event.type ?? '';
    const state = STATE_EVENT.exec(type);
    const current = this.#stack.at(-1);
    if (type === 'ExecutionStarted') {
      this.#start = at;
      out.push({
        ...this.#base(at),
        kind: 'execution-started',
        input: parseJson(event.executionStartedEventDetails?.input),
      });
      return;
    }
    if (state) {
      const [, stateType, phase] = state as unknown as [string, string, string];
      if (phase === 'Entered') {
        const iteration = this.#iterations.at(-1);
        const open: OpenState = {
          name: event.stateEnteredEventDetails?.name ?? '?',
          enteredAt: at,
          type: stateType,
          depth: this.#iterations.length,
          ...(iteration ? { iteration: iteration.index } : {}),
        };
        this.#stack.push(open);
        out.push({
          ...this.#base(at, open),
          kind: 'state-entered',
          input: parseJson(event.stateEnteredEventDetails?.input),
        });
      } else {
        const name = event.stateExitedEventDetails?.name;
        const open = [...this.#stack].reverse().find((s) => s.name === name) ?? current;
        if (!open) return;
        out.push({
          ...this.#base(at, open),
          kind: 'state-exited',
          durationMs: at - open.enteredAt,
          output: parseJson(event.stateExitedEventDetails?.output),
        });
        this.#pop(open);
      }
      return;
    }
    switch (type) {
      case 'LambdaFunctionScheduled':
        if (current) {
          current.functionName = functionNameOf(event.lambdaFunctionScheduledEventDetails?.resource ?? '');
          current.invokedAt = at;
        }
        return;
      case 'LambdaFunctionStarted':
        if (current) current.invokedAt = at;
        return;
      case 'LambdaFunctionSucceeded':
        if (current) this.#invocation(current, at, true);
        return;
      case 'MapIterationStarted': {
        const details = event.mapIterationStartedEventDetails;
        const index = details?.index ?? 0;
        this.#iterations.push({ map: details?.name ?? current?.name ?? '?', index });
        out.push({ ...this.#base(at, this.#mapState()), kind: 'iteration-started', iteration: index });
        return;
      }
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
      case 'MapIterationAborted': {
        const details =
          event.mapIterationSucceededEventDetails ??
          event.mapIterationFailedEventDetails ??
          event.mapIterationAbortedEventDetails;
        const index = details?.index ?? this.#iterations.at(-1)?.index ?? 0;
        this.#iterations.pop();
        // States of the iteration still open (a Fail state) end with it.
        const map = this.#mapState();
        while (this.#stack.length > 0 && this.#stack.at(-1) !== map) {
          const ended = this.#stack.pop()!;
          if (ended.type === 'Fail') {
            out.push({ ...this.#base(at, ended), kind: 'state-failed', durationMs: at - ended.enteredAt });
          }
        }
        out.push({
          ...this.#base(at, map),
          kind: type === 'MapIterationSucceeded' ? 'iteration-succeeded' : 'iteration-failed',
          iteration: index,
        });
        return;
      }
      case 'MapStateFailed':
      case 'ParallelStateFailed':
        if (current) this.#pending = { state: current, failure: {}, at };
        return;
      case 'ExecutionSucceeded':
        this.#ended = true;
        out.push({
          ...this.#base(at),
          kind: 'execution-succeeded',
          output: parseJson(event.executionSucceededEventDetails?.output),
        });
        return;
      case 'ExecutionFailed':
      case 'ExecutionTimedOut':
      case 'ExecutionAborted': {
        this.#ended = true;
        const details =
          event.executionFailedEventDetails ??
          event.executionTimedOutEventDetails ??
          event.executionAbortedEventDetails;
        const error =
          details?.error ??
          (type === 'ExecutionTimedOut'
            ? 'States.Timeout'
            : type === 'ExecutionAborted'
              ? 'States.Aborted'
              : undefined);
        out.push({
          ...this.#base(at),
          kind: 'execution-failed',
          ...(error ? { error } : {}),
          ...(details?.cause ? { cause: details.cause } : {}),
        });
        return;
      }
      default: {
        const failure = failureOf(event);
        if (failure && current) {
          this.#invocation(current, at, false, failure.error);
          this.#pending = { state: current, failure, at };
        }
      }
    }
  }

  #mapState(): OpenState | undefined {
    return [...this.#stack].reverse().find((s) => s.type === 'Map' || s.type === 'Parallel');
  }

  #invocation(state: OpenState, at: number, ok: boolean, error?: string): void {
    if (!state.functionName) return;
    this.#invocations.push({
      functionName: state.functionName,
      state: state.name,
      ...(state.iteration !== undefined ? { iteration: state.iteration } : {}),
      durationMs: Math.max(0, at - (state.invokedAt ?? at)),
      ok,
      ...(error ? { error } : {}),
    });
  }
}
