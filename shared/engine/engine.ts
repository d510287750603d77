/**
 * The embedded local engine: runs a workflow definition in-process with aws-local-stepfunctions,
 * calling the Lambda handlers directly, and records an event trace.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { StateMachine } from 'aws-local-stepfunctions';
import type { StateMachineDefinition } from './asl.ts';
import { type PendingTask, TASK_TOKEN_PLACEHOLDER, TaskTokens, withTaskToken } from './callback.ts';
import { checkInputDepth } from './depth.ts';
import { InvalidDefinitionError, UnsupportedDefinitionError } from './errors.ts';
import { HistoryCounter } from './history.ts';
import { inspectDefinition, readPath, type TaskSite } from './inspect.ts';
import { withinInvocation } from './invocation.ts';
import {
  asJson,
  createLambdaContext,
  functionNameOf,
  type LambdaHandler,
  toLambdaTaskError,
} from './lambda.ts';
import { DATA_LIMIT_EXCEEDED, PayloadWatch } from './limits.ts';
import { type RunTrace, type TraceEvent, TraceRecorder } from './trace.ts';

type LibraryDefinition = ConstructorParameters<typeof StateMachine>[0];
type LibraryRun = ReturnType<StateMachine['run']>;
type LibraryEvent = LibraryRun['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
type LocalHandlers = Record<string, (input: unknown) => Promise<unknown>>;

/** Options of {@link createLocalEngine}. */
export interface EngineOptions {
  /** Memory reported in the context, per function name. */
  memoryMb?: Readonly<Record<string, number>>;
  /** Name used in execution ids. */
  stateMachineName?: string;
  /** The task tokens of callback Tasks (a registry of its own when omitted). */
  taskTokens?: TaskTokens;
}

/** Options of one run. */
export interface StartOptions {
  /** Called with every trace event as it happens (live progress). */
  onEvent?: (event: TraceEvent) => void;
  /** Milliseconds to pause in the named `Wait` states instead of their duration. */
  waitTimeOverrides?: Record<string, number>;
  /** Milliseconds to pause before retrying the named states (one number, or one per retrier). */
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** The execution name (`$$.Execution.Name`); a UUID when omitted, as in AWS. */
  executionName?: string;
  /** Handlers for this run only, by ARN, in place of the engine's (to inject failures in tests). */
  handlerOverrides?: Readonly<Record<string, LambdaHandler>>;
  /** Called when a callback Task has invoked its function and waits for its token to be answered. */
  onTaskToken?: (task: PendingTask) => void;
  /** The history-event limit (AWS's 25,000 when omitted; tests may lower it). */
  historyEventLimit?: number;
}

/** How a run ended. */
export interface RunResult {
  status: 'SUCCEEDED' | 'FAILED';
  executionName: string;
  /** The output of a succeeded run. */
  output?: unknown;
  /** The error name of a failed run, as `Error` in AWS. */
  error?: string;
  /** The cause of a failed run, as `Cause` in AWS. */
  cause?: string;
  /** History events AWS would have written for this run (see `HistoryCounter`). */
  historyEvents?: number;
  trace: RunTrace;
}

/** A started run. */
export interface Execution {
  executionName: string;
  /** The trace events as they happen; ends with the run. */
  events: AsyncIterable<TraceEvent>;
  result: Promise<RunResult>;
  /** Stops the run; it then ends failed with `States.Aborted`. */
  abort(): void;
}

/** A definition bound to handlers, validated once, ready to run many times. */
export interface LocalEngine {
  readonly definition: StateMachineDefinition;
  readonly tasks: readonly TaskSite[];
  /** Starts a run. @throws InputTooDeepError for input nested deeper than `MAX_INPUT_DEPTH` (nothing starts) */
  start(input: unknown, options?: StartOptions): Execution;
  /** The registry answering callback Tasks (`sendTaskSuccess`, `sendTaskFailure`, `sendTaskHeartbeat`). */
  readonly taskTokens: TaskTokens;
}

const CANCELLED = 'States.Cancelled';

/** Raised inside a Map iteration that started after another iteration had failed the Map. */
class IterationCancelledError extends Error {
  constructor(map: string) {
    super(`iteration of Map "${map}" cancelled: another iteration failed the Map`);
    this.name = CANCELLED;
  }
  get isRetryable(): boolean {
    return false;
  }
  get isCatchable(): boolean {
    return false;
  }
}

/** A push-based async iterable: what the engine reports, for whoever iterates it. */
function channel<T>(): { push(value: T): void; close(): void; iterable: AsyncIterable<T> } {
  const queue: T[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  return {
    push(value) {
      queue.push(value);
      wake?.();
    },
    close() {
      closed = true;
      wake?.();
    },
    iterable: {
      async *[Symbol.asyncIterator]() {
        while (true) {
          while (queue.length > 0) yield queue.shift() as T;
          if (closed) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      },
    },
  };
}

/**
 * Tracks Map iterations that AWS would never run: aws-local-stepfunctions keeps starting queued
 * iterations after one has failed the Map (and even after the run has ended); AWS stops them. The
 * Tasks of such iterations are refused before any handler runs ({@link IterationCancelledError}),
 * and their events are kept out of the trace: an iteration's events are held until something in it
 * really ran, because the library forwards the events of sibling iterations out of order.
 */
class IterationGate {
  readonly #failed = new Set<string>();
  readonly #cancelled = new Set<string>();
  readonly #held = new Map<string, LibraryEvent[]>();
  readonly #enclosingMap: (state: string) => string | undefined;

  constructor(enclosingMap: (state: string) => string | undefined) {
    this.#enclosingMap = enclosingMap;
  }

  /** The first of `maps` that has failed in this run, if any. */
  failedMap(maps: readonly string[]): string | undefined {
    return maps.find((map) => this.#failed.has(map));
  }

  #release(key: string, event: LibraryEvent): LibraryEvent[] {
    const held = this.#held.get(key) ?? [];
    this.#held.delete(key);
    return [...held, event];
  }

  #cancel(key: string): LibraryEvent[] {
    this.#cancelled.add(key);
    this.#held.delete(key);
    return [];
  }

  /**
   * A Task handler of `state` passed the fence, so its iteration really runs: returns the held
   * events of the iterations waiting at that state, to record now (live progress shows the state
   * while it runs).
   */
  confirm(state: string): LibraryEvent[] {
    const released: LibraryEvent[] = [];
    for (const [key, held] of this.#held) {
      const last = held.at(-1);
      if (last?.type === 'StateEntered' && last.state.name === state) {
        released.push(...held);
        this.#held.delete(key);
      }
    }
    return released;
  }

  /** Takes an event from the library; returns the events to record now, in order. */
  admit(event: LibraryEvent): LibraryEvent[] {
    switch (event.type) {
      case 'MapIterationStarted': {
        const key = `${event.parentState.name}\u0000${event.index}`;
        if (this.#failed.has(event.parentState.name)) return this.#cancel(key);
        this.#held.set(key, [event]);
        return [];
      }
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const key = `${event.parentState.name}\u0000${event.index}`;
        if (this.#cancelled.has(key)) return [];
        if (event.type === 'MapIterationFailed') {
          if (event.Error === CANCELLED) return this.#cancel(key);
          this.#failed.add(event.parentState.name);
        }
        return this.#release(key, event);
      }
      case 'StateEntered':
      case 'StateExited':
      case 'StateFailed':
      case 'StateRetried':
      case 'StateCaught': {
        if (event.type === 'StateEntered' && event.state.type === 'Map' && event.index === undefined) {
          const prefix = `${event.state.name}\u0000`;
          this.#failed.delete(event.state.name);
          for (const key of this.#cancelled) if (key.startsWith(prefix)) this.#cancelled.delete(key);
        }
        const map = event.index === undefined ? undefined : this.#enclosingMap(event.state.name);
        if (map === undefined) return [event];
        const key = `${map}\u0000${event.index}`;
        if (this.#cancelled.has(key)) return [];
        const held = this.#held.get(key);
        if (!held) return [event];
        if (event.type === 'StateFailed' && event.Error === CANCELLED) return this.#cancel(key);
        if (event.type === 'StateEntered') {
          held.push(event);
          return [];
        }
        return this.#release(key, event);
      }
      default:
        return [event];
    }
  }
}

/** The longest timer Node keeps (about 24.8 days), in seconds. */
const MAX_TIMER_SECONDS = 2_147_483;

/**
 * The definition as aws-local-stepfunctions gets it: a clone (it mutates what it is given), with the
 * `TimeoutSecondsPath` of callback Tasks replaced by a timeout the wrapper enforces itself.
 */
function libraryDefinition(definition: StateMachineDefinition, tasks: readonly TaskSite[]): object {
  const clone = structuredClone(definition) as unknown as Record<string, unknown>;
  for (const task of tasks) {
    if (!task.timeoutSecondsPath) continue;
    let node: unknown = clone;
    for (const key of task.path.split('.')) node = (node as Record<string, unknown> | undefined)?.[key];
    const state = node as Record<string, unknown> | undefined;
    if (!state) continue;
    delete state.TimeoutSecondsPath;
    state.TimeoutSeconds = MAX_TIMER_SECONDS;
  }
  return clone;
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Creates the local engine for a definition: refuses what it cannot run, binds each Task to the
 * handler of its `Resource` (by state name, as aws-local-stepfunctions requires), and validates the
 * definition once.
 *
 * @param handlersByArn - handler per Lambda ARN used in `Resource` fields
 * @throws UnsupportedDefinitionError listing every offence with its state path
 * @throws InvalidDefinitionError when asl-validator rejects the definition
 * @example
 * const engine = createLocalEngine(deployWorkflow(LOCAL_DEPLOY_ARNS), localDeployHandlers());
 * const run = engine.start({ target: 'demo', ref: 'v2' }, { onEvent: (e) => console.log(e.kind, e.state) });
 * const result = await run.result;
 * console.log(formatTimeline(result.trace));
 */
export function createLocalEngine(
  definition: StateMachineDefinition,
  handlersByArn: Readonly<Record<string, LambdaHandler>>,
  options: EngineOptions = {},
): LocalEngine {
  const inspection = inspectDefinition(definition);
  const offences = [...inspection.offences];
  for (const task of inspection.tasks) {
    if (!Object.hasOwn(handlersByArn, task.functionArn)) {
      offences.push({
        path: task.path,
        message: task.callback
          ? `no local handler for function "${task.functionArn}"`
          : `no local handler for resource "${task.resource}"`,
      });
    }
  }
  if (offences.length > 0) throw new UnsupportedDefinitionError(offences);

  let machine: StateMachine;
  try {
    machine = new StateMachine(
      libraryDefinition(definition, inspection.tasks) as unknown as LibraryDefinition,
    );
  } catch (error) {
    throw new InvalidDefinitionError((error as Error).message);
  }
  const stateInfo = inspection.states;
  const enclosingMap = (state: string) => stateInfo.get(state)?.enclosingMaps.at(-1);
  const depthOf = (state: string) => stateInfo.get(state)?.enclosingMaps.length ?? 0;
  const callbackStates = new Set(inspection.tasks.filter((t) => t.callback).map((t) => t.name));
  const machineName = options.stateMachineName ?? 'local';
  const taskTokens = options.taskTokens ?? new TaskTokens();

  function start(input: unknown, startOptions: StartOptions = {}): Execution {
    // Refused before the run starts, as StartExecution refuses input it cannot take.
    checkInputDepth(input, 'the input of the run');
    const executionName = startOptions.executionName ?? randomUUID();
    const startTime = Date.now();
    const recorder = new TraceRecorder(executionName, startTime);
    const gate = new IterationGate(enclosingMap);
    const lastIteration = new Map<string, number | undefined>();
    /** The raw input of each callback state as it was entered (its TimeoutSecondsPath reads it). */
    const enteredWith = new Map<string, unknown>();
    const events = channel<TraceEvent>();
    const handlers = { ...handlersByArn, ...startOptions.handlerOverrides };
    const payloads = new PayloadWatch();
    const history = new HistoryCounter((state) => callbackStates.has(state), startOptions.historyEventLimit);

    const localHandlers: LocalHandlers = {};
    for (const task of inspection.tasks) {
      const functionName = functionNameOf(task.functionArn);
      localHandlers[task.name] = async (taskInput: unknown) => {
        // Let the events so far arrive (a payload over the limit stops the run, as on AWS).
        await nextMacrotask();
        payloads.assertWithin();
        history.assertWithin();
        if (task.enclosingMaps.length > 0) {
          // Events of a failing sibling iteration have arrived too: decide whether to run.
          const failed = gate.failedMap(task.enclosingMaps);
          if (failed) throw new IterationCancelledError(failed);
          for (const event of gate.confirm(task.name)) record(event);
        }
        const handler = handlers[task.functionArn] as LambdaHandler;
        const context = createLambdaContext({
          arn: task.functionArn,
          timeoutSeconds: task.timeoutSeconds,
          ...(options.memoryMb?.[functionName] ? { memoryMb: options.memoryMb[functionName] } : {}),
        });
        const iteration = lastIteration.get(task.name);
        const began = performance.now();
        let timeoutSeconds: number | undefined = task.timeoutSeconds;
        if (task.timeoutSecondsPath) {
          // The library reads TimeoutSecondsPath from the effective input, AWS from the state input
          // (recorded when the state was entered: its event has arrived, see above).
          const value = readPath(enteredWith.get(task.name), task.timeoutSecondsPath);
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
            throw Object.assign(
              new Error(
                `TimeoutSecondsPath ${task.timeoutSecondsPath} does not point to a positive whole number`,
              ),
              { name: 'States.Runtime' },
            );
          }
          timeoutSeconds = value;
        }
        // A callback Task: the function gets the Payload, with a fresh token for the placeholder.
        const issued = task.callback
          ? taskTokens.issue({
              executionName,
              state: task.name,
              payload: (token) =>
                asJson(withTaskToken((taskInput as { Payload?: unknown } | null)?.Payload ?? null, token)),
              timeoutSeconds,
              ...(task.timeoutSecondsPath ? { failOnTimeout: true } : {}),
              ...(task.heartbeatSeconds !== undefined ? { heartbeatSeconds: task.heartbeatSeconds } : {}),
            })
          : undefined;
        const payload = issued ? issued.payload : asJson(taskInput);
        let output: unknown;
        try {
          output = await withinInvocation({ functionName, state: task.name, executionName }, () =>
            handler(payload as never, context),
          );
          recorder.invocation({
            functionName,
            state: task.name,
            durationMs: performance.now() - began,
            ok: true,
            ...(iteration !== undefined ? { iteration } : {}),
          });
        } catch (thrown) {
          // The function failed: the Task fails with its error, and its token can no longer be answered.
          if (issued) taskTokens.forget(issued.token);
          const error = toLambdaTaskError(thrown);
          recorder.invocation({
            functionName,
            state: task.name,
            durationMs: performance.now() - began,
            ok: false,
            error: error.name,
            ...(iteration !== undefined ? { iteration } : {}),
          });
          throw error;
        }
        if (issued) {
          const waiting = taskTokens.pending(executionName).find((t) => t.token === issued.token);
          if (waiting) {
            try {
              startOptions.onTaskToken?.(waiting);
            } catch {
              // As for onEvent: the Task waits for its answer whatever the listener did.
            }
          }
        }
        const result = issued ? await issued.answer : asJson(output);
        if (payloads.observe(result, `the result of Task "${task.name}"`)) payloads.assertWithin();
        return result;
      };
    }

    const run = machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: localHandlers as never,
        ...(startOptions.waitTimeOverrides ? { waitTimeOverrides: startOptions.waitTimeOverrides } : {}),
        ...(startOptions.retryIntervalOverrides
          ? { retryIntervalOverrides: startOptions.retryIntervalOverrides }
          : {}),
      },
      context: {
        Execution: {
          Id: `arn:aws:states:local:000000000000:execution:${machineName}:${executionName}`,
          Name: executionName,
          StartTime: new Date(startTime).toISOString(),
          RoleArn: 'arn:aws:iam::000000000000:role/local',
        },
        StateMachine: {
          Id: `arn:aws:states:local:000000000000:stateMachine:${machineName}`,
          Name: machineName,
        },
        // Swapped for a real token by the local handler of a callback Task.
        Task: { Token: TASK_TOKEN_PLACEHOLDER },
      },
    });

    const emit = (event: Omit<TraceEvent, 'elapsedMs' | 'durationMs'>) => {
      const recorded = recorder.record(event);
      events.push(recorded);
      try {
        startOptions.onEvent?.(recorded);
      } catch {
        // A listener (progress, a recording on a full disk) never stops the run: the run goes on,
        // and the trace still holds every event.
      }
    };

    const consume = (async () => {
      for await (const incoming of run.eventLogs) {
        if (overLimit(incoming)) run.abort();
        if (history.observe(incoming)) run.abort();
        for (const event of gate.admit(incoming)) record(event);
      }
    })();

    /** The last output of each iteration of each Map: what the Map collects as its result. */
    const iterationOutputs = new Map<string, Map<number, unknown>>();
    /**
     * Whether a state's input or output, or a Map's collected result (before its ResultPath), is
     * the first payload over the limit (the run stops there).
     */
    function overLimit(event: LibraryEvent): boolean {
      if (event.type === 'StateEntered') {
        return payloads.observe(event.state.input, `the input of state "${event.state.name}"`);
      }
      if (event.type !== 'StateExited') return false;
      const name = event.state.name;
      const map = event.index === undefined ? undefined : enclosingMap(name);
      if (map !== undefined && event.index !== undefined) {
        const outputs = iterationOutputs.get(map) ?? new Map<number, unknown>();
        outputs.set(event.index, event.state.output);
        iterationOutputs.set(map, outputs);
      }
      if (event.state.type === 'Map') {
        const collected = [...(iterationOutputs.get(name)?.values() ?? [])];
        iterationOutputs.delete(name);
        if (payloads.observe(collected, `the result of Map "${name}" (its iterations' outputs)`)) return true;
      }
      return payloads.observe(event.state.output, `the output of state "${name}"`);
    }

    function record(event: LibraryEvent): void {
      {
        const at = event.timestamp;
        switch (event.type) {
          case 'ExecutionStarted':
            emit({ kind: 'execution-started', at, depth: 0, input: event.input });
            break;
          case 'ExecutionSucceeded':
            emit({ kind: 'execution-succeeded', at, depth: 0, output: event.output });
            break;
          case 'ExecutionFailed':
            emit({
              kind: 'execution-failed',
              at,
              depth: 0,
              error: event.Error,
              ...(text(event.Cause) !== undefined ? { cause: text(event.Cause) } : {}),
            });
            break;
          case 'ExecutionAborted':
          case 'ExecutionTimeout':
            emit({
              kind: 'execution-failed',
              at,
              depth: 0,
              ...(payloads.exceeded
                ? { error: DATA_LIMIT_EXCEEDED, cause: payloads.exceeded.message }
                : history.exceeded
                  ? { error: history.exceeded.name, cause: history.exceeded.message }
                  : { error: event.type === 'ExecutionAborted' ? 'States.Aborted' : 'States.Timeout' }),
            });
            break;
          case 'MapIterationStarted':
          case 'MapIterationSucceeded':
          case 'MapIterationFailed':
            emit({
              kind:
                event.type === 'MapIterationStarted'
                  ? 'iteration-started'
                  : event.type === 'MapIterationSucceeded'
                    ? 'iteration-succeeded'
                    : 'iteration-failed',
              at,
              state: event.parentState.name,
              stateType: 'Map',
              iteration: event.index,
              depth: depthOf(event.parentState.name) + 1,
              ...(event.type === 'MapIterationFailed'
                ? {
                    error: event.Error,
                    ...(text(event.Cause) !== undefined ? { cause: text(event.Cause) } : {}),
                  }
                : {}),
            });
            break;
          case 'StateEntered':
          case 'StateExited':
          case 'StateFailed':
          case 'StateRetried':
          case 'StateCaught': {
            const base = {
              at,
              state: event.state.name,
              stateType: event.state.type,
              depth: depthOf(event.state.name),
              ...(event.index !== undefined ? { iteration: event.index } : {}),
            };
            if (event.type === 'StateEntered') {
              lastIteration.set(event.state.name, event.index);
              enteredWith.set(event.state.name, event.state.input);
              emit({ ...base, kind: 'state-entered', input: event.state.input });
            } else if (event.type === 'StateExited') {
              emit({ ...base, kind: 'state-exited', output: event.state.output });
            } else if (event.type === 'StateFailed') {
              if (event.Error === 'States.Timeout') taskTokens.expireState(executionName, event.state.name);
              const cause = text(event.Cause);
              emit({
                ...base,
                kind: 'state-failed',
                error: event.Error,
                ...(cause !== undefined ? { cause } : {}),
              });
            } else if (event.type === 'StateRetried') {
              emit({ ...base, kind: 'state-retried', attempt: event.retry.attempt });
            } else {
              emit({ ...base, kind: 'state-caught', next: event.catch.catcher.Next });
            }
            break;
          }
          default:
            break;
        }
      }
    }

    const result = (async (): Promise<RunResult> => {
      let output: unknown;
      let failure: unknown;
      let succeeded = false;
      try {
        output = await run.result;
        succeeded = true;
      } catch (error) {
        failure = error;
      }
      await consume;
      taskTokens.endExecution(executionName);
      events.close();
      const trace = recorder.trace;
      if (payloads.exceeded) {
        // AWS fails the run at the first payload over the limit, whatever ran after it here.
        succeeded = false;
        trace.error = DATA_LIMIT_EXCEEDED;
        trace.cause = payloads.exceeded.message;
      } else if (history.exceeded) {
        // AWS fails the run when its history passes the limit, whatever ran after it here.
        succeeded = false;
        trace.error = history.exceeded.name;
        trace.cause = history.exceeded.message;
      }
      const historyEvents = history.count;
      if (succeeded) {
        trace.status = 'SUCCEEDED';
        return { status: 'SUCCEEDED', executionName, output, historyEvents, trace };
      }
      const cause = (failure as { cause?: unknown })?.cause as Error | undefined;
      const error =
        trace.error ??
        (cause?.name ||
          ((failure as Error)?.name === 'ExecutionAbortedError' ? 'States.Aborted' : 'States.Runtime'));
      const causeText = trace.cause ?? (cause?.message || (failure as Error)?.message);
      trace.status = 'FAILED';
      trace.error = error;
      if (causeText !== undefined) trace.cause = causeText;
      if (trace.durationMs === 0) trace.durationMs = Date.now() - startTime;
      return {
        status: 'FAILED',
        executionName,
        error,
        ...(causeText !== undefined ? { cause: causeText } : {}),
        historyEvents,
        trace,
      };
    })();

    return { executionName, events: events.iterable, result, abort: () => run.abort() };
  }

  return { definition, tasks: inspection.tasks, start, taskTokens };
}
