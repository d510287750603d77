/**
 * The event trace of a local run: what each state did and when, the counts AWS bills (state
 * transitions, Lambda invocations) and a plain-text timeline for the CLI.
 */

export type TraceEventKind =
  | 'execution-started'
  | 'execution-succeeded'
  | 'execution-failed'
  | 'state-entered'
  | 'state-exited'
  | 'state-failed'
  | 'state-retried'
  | 'state-caught'
  | 'iteration-started'
  | 'iteration-succeeded'
  | 'iteration-failed';

/** One event of a run, in the order the engine reported it. */
export interface TraceEvent {
  kind: TraceEventKind;
  /** Epoch milliseconds. */
  at: number;
  /** Milliseconds since the execution started. */
  elapsedMs: number;
  /** The state (for iteration events: the Map state). */
  state?: string;
  stateType?: string;
  /** The Map iteration the event belongs to (states inside a Map, and iteration events). */
  iteration?: number;
  /** Nesting depth: 0 for top-level states, 1 inside a Map iteration, … */
  depth: number;
  /** For exits, catches, final failures and iteration ends: milliseconds since the matching start. */
  durationMs?: number;
  error?: string;
  cause?: string;
  /** For retries: which retry this is (1 for the first). */
  attempt?: number;
  /** For catches: where the catcher goes. */
  next?: string;
  input?: unknown;
  output?: unknown;
}

/** One visit of a state, from entered to exited (or failed/caught). */
export interface TraceStep {
  state: string;
  stateType: string;
  iteration?: number;
  depth: number;
  /** Milliseconds since the execution started. */
  startedMs: number;
  durationMs?: number;
  outcome: 'succeeded' | 'failed' | 'caught' | 'running';
  retries: number;
  error?: string;
  cause?: string;
}

/** One Lambda invocation (retries are separate invocations). */
export interface TraceInvocation {
  /** The function name (`functions/<name>`). */
  functionName: string;
  state: string;
  iteration?: number;
  /** Measured handler time in milliseconds. */
  durationMs: number;
  ok: boolean;
  error?: string;
}

/** Everything a run did. */
export interface RunTrace {
  executionName: string;
  /** ISO timestamp of the start. */
  startedAt: string;
  durationMs: number;
  status: 'SUCCEEDED' | 'FAILED' | 'RUNNING';
  error?: string;
  cause?: string;
  events: TraceEvent[];
  steps: TraceStep[];
  /**
   * State transitions as AWS bills them: every state entered (inside Map iterations too) and
   * every retry of a state.
   */
  transitions: number;
  /** Every Lambda invocation, retries included. */
  invocations: TraceInvocation[];
}

const key = (state: string, iteration: number | undefined) => `${iteration ?? '-'}\u0000${state}`;

/**
 * Builds a {@link RunTrace} from engine events. The engine feeds it; it is exported for tests and
 * for tools that replay event logs.
 *
 * @example
 * const recorder = new TraceRecorder('run-1', Date.now());
 * recorder.record({ kind: 'state-entered', at: Date.now(), state: 'PlanDeploy', stateType: 'Task', depth: 0 });
 * recorder.trace.transitions; // 1
 */
export class TraceRecorder {
  readonly trace: RunTrace;
  readonly #open = new Map<string, { step: TraceStep; at: number }>();
  readonly #iterations = new Map<string, number>();
  readonly #start: number;

  constructor(executionName: string, start: number = Date.now()) {
    this.#start = start;
    this.trace = {
      executionName,
      startedAt: new Date(start).toISOString(),
      durationMs: 0,
      status: 'RUNNING',
      events: [],
      steps: [],
      transitions: 0,
      invocations: [],
    };
  }

  /** Records an event (its `elapsedMs` and `durationMs` are computed here) and returns it. */
  record(event: Omit<TraceEvent, 'elapsedMs' | 'durationMs'>): TraceEvent {
    const full: TraceEvent = { ...event, elapsedMs: Math.max(0, event.at - this.#start) };
    const trace = this.trace;
    const state = event.state ?? '';
    switch (event.kind) {
      case 'state-entered': {
        trace.transitions += 1;
        const step: TraceStep = {
          state,
          stateType: event.stateType ?? '?',
          depth: event.depth,
          startedMs: full.elapsedMs,
          outcome: 'running',
          retries: 0,
          ...(event.iteration !== undefined ? { iteration: event.iteration } : {}),
        };
        trace.steps.push(step);
        this.#open.set(key(state, event.iteration), { step, at: event.at });
        break;
      }
      case 'state-retried': {
        trace.transitions += 1;
        const open = this.#open.get(key(state, event.iteration));
        if (open) open.step.retries += 1;
        break;
      }
      case 'state-failed': {
        const open = this.#open.get(key(state, event.iteration));
        if (open) {
          full.durationMs = event.at - open.at;
          open.step.durationMs = full.durationMs;
          open.step.outcome = 'failed';
          if (event.error !== undefined) open.step.error = event.error;
          if (event.cause !== undefined) open.step.cause = event.cause;
        }
        break;
      }
      case 'state-exited':
      case 'state-caught': {
        const open = this.#open.get(key(state, event.iteration));
        if (open) {
          full.durationMs = event.at - open.at;
          open.step.durationMs = full.durationMs;
          open.step.outcome = event.kind === 'state-exited' ? 'succeeded' : 'caught';
          this.#open.delete(key(state, event.iteration));
        }
        break;
      }
      case 'iteration-started':
        this.#iterations.set(key(state, event.iteration), event.at);
        break;
      case 'iteration-succeeded':
      case 'iteration-failed': {
        const started = this.#iterations.get(key(state, event.iteration));
        if (started !== undefined) full.durationMs = event.at - started;
        break;
      }
      case 'execution-succeeded':
      case 'execution-failed':
        trace.durationMs = event.at - this.#start;
        trace.status = event.kind === 'execution-succeeded' ? 'SUCCEEDED' : 'FAILED';
        if (event.error !== undefined) trace.error = event.error;
        if (event.cause !== undefined) trace.cause = event.cause;
        for (const { step } of this.#open.values()) if (step.outcome === 'running') step.outcome = 'failed';
        break;
      default:
        break;
    }
    trace.events.push(full);
    return full;
  }

  /** Records a Lambda invocation. */
  invocation(invocation: TraceInvocation): void {
    this.trace.invocations.push(invocation);
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function firstLine(text: string, max = 160): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * A short readable form of a cause: the `errorMessage` of a Lambda cause, else the text itself.
 *
 * @example
 * readableCause('{"errorType":"NoHostsError","errorMessage":"no host online","trace":[]}') // 'no host online'
 */
export function readableCause(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text
  }
  return cause;
}

/**
 * Formats a run as a plain-text timeline: one line per state visit (Map iterations indented and
 * numbered), retries and catches noted, then the outcome and the billed counts.
 *
 * @example
 * console.log(formatTimeline(result.trace));
 * // run 1f3c… · SUCCEEDED · 2.41 s
 * //   +0.000s  PlanDeploy              Task      14 ms
 * //   …
 * // 19 state transitions · 8 Lambda invocations
 */
export function formatTimeline(trace: RunTrace): string {
  const lines = [`run ${trace.executionName} · ${trace.status} · ${seconds(trace.durationMs)}`];
  const steps = [...trace.steps].sort((a, b) => a.startedMs - b.startedMs);
  const width = Math.max(
    24,
    ...steps.map((s) => s.state.length + s.depth * 2 + (s.iteration !== undefined ? 5 : 0)),
  );
  const offsets = steps.map((s) => `+${(s.startedMs / 1000).toFixed(3)}s`);
  const offsetWidth = Math.max(0, ...offsets.map((o) => o.length));
  for (const [i, step] of steps.entries()) {
    const label = `${'  '.repeat(step.depth)}${step.iteration !== undefined ? `[${step.iteration}] ` : ''}${step.state}`;
    const notes: string[] = [];
    if (step.retries > 0) notes.push(`retried ×${step.retries}`);
    if (step.outcome === 'caught') notes.push(`caught ${step.error ?? ''}`.trim());
    if (step.outcome === 'failed') notes.push(`failed ${step.error ?? ''}`.trim());
    if (step.outcome === 'running') notes.push('running');
    const duration = step.durationMs === undefined ? '' : seconds(step.durationMs);
    lines.push(
      `  ${offsets[i]!.padStart(offsetWidth)}  ${label.padEnd(width)}  ${step.stateType.padEnd(7)} ${duration.padStart(8)}${notes.length ? `  ${notes.join(', ')}` : ''}`.trimEnd(),
    );
  }
  if (trace.status === 'FAILED') {
    const cause = firstLine(readableCause(trace.cause));
    lines.push(`FAILED ${trace.error ?? 'error'}${cause ? `: ${cause}` : ''}`);
  }
  lines.push(`${trace.transitions} state transitions · ${trace.invocations.length} Lambda invocations`);
  return lines.join('\n');
}
