/**
 * AWS Step Functions' execution history limit, counted by the local engine so that tests see what
 * AWS would do: a Standard execution's history holds at most 25,000 events ("Maximum execution
 * history size", Step Functions developer guide, Service quotas), and an execution that needs more
 * fails, whatever its Catch states say.
 *
 * The library reports one event per state entered or exited; AWS writes more. What AWS writes per
 * state type (the `HistoryEvent` types of the Step Functions API reference) is counted here:
 *
 * | what happens                        | events AWS writes                                                     |
 * | ----------------------------------- | --------------------------------------------------------------------- |
 * | the run starts, ends                | `ExecutionStarted`; `ExecutionSucceeded` / `Failed` / `Aborted` / …     |
 * | a Lambda Task is entered            | `TaskStateEntered`, `LambdaFunctionScheduled`, `LambdaFunctionStarted` |
 * | it succeeds and exits               | `LambdaFunctionSucceeded`, `TaskStateExited`                          |
 * | a callback Task is entered          | `TaskStateEntered`, `TaskScheduled`, `TaskStarted`, `TaskSubmitted`    |
 * | it is answered and exits            | `TaskSucceeded`, `TaskStateExited`                                    |
 * | a Task fails                        | `LambdaFunctionFailed` (`MapStateFailed` for a Map, …)                |
 * | … and is retried                    | `LambdaFunctionScheduled`, `LambdaFunctionStarted` again              |
 * | … and is caught                     | `TaskStateExited` (`MapStateExited`, …): one exit event, no success   |
 * | a Choice, Pass, Wait, Succeed state | `…StateEntered`, `…StateExited`                                       |
 * | a Fail state                        | `FailStateEntered`                                                     |
 * | a Map is entered, exits             | `MapStateEntered`, `MapStateStarted`; `MapStateSucceeded`, `…Exited`   |
 * | a Map iteration starts, ends        | `MapIterationStarted`; `MapIterationSucceeded` / `…Failed`            |
 *
 * A Task whose resource is an optimised integration (`arn:aws:states:::lambda:invoke`) writes
 * `TaskScheduled`/`TaskStarted`/`TaskSucceeded` instead of the `LambdaFunction…` events: the same
 * count. The counts are what one visit of each state costs; the limit is checked against their sum.
 */

/** Events a Standard execution's history may hold (Step Functions service quotas). */
export const HISTORY_EVENT_LIMIT = 25_000;

/** The error a run fails with when its history would pass {@link HISTORY_EVENT_LIMIT}. */
export const HISTORY_LIMIT_ERROR = 'States.Runtime';

/** The library events this counter reads (a subset of aws-local-stepfunctions' event log). */
export type HistorySource =
  | {
      type:
        | 'ExecutionStarted'
        | 'ExecutionSucceeded'
        | 'ExecutionFailed'
        | 'ExecutionAborted'
        | 'ExecutionTimeout';
    }
  | { type: 'MapIterationStarted' | 'MapIterationSucceeded' | 'MapIterationFailed' }
  | {
      type: 'StateEntered' | 'StateExited' | 'StateFailed' | 'StateRetried' | 'StateCaught';
      state: { name: string; type: string };
    }
  | { type: string };

/**
 * How many history events AWS writes for one library event (see the table above).
 *
 * @param callback - whether the state is a callback Task (`.waitForTaskToken`)
 * @param caught - for an exit: whether the state's error was just caught (no success event then)
 * @example
 * historyEventsOf({ type: 'StateEntered', state: { name: 'WaitForJob', type: 'Task' } }, false) // 3
 */
export function historyEventsOf(event: HistorySource, callback: boolean, caught = false): number {
  const stateType = 'state' in event ? (event.state as { type: string }).type : undefined;
  switch (event.type) {
    case 'ExecutionStarted':
    case 'ExecutionSucceeded':
    case 'ExecutionFailed':
    case 'ExecutionAborted':
    case 'ExecutionTimeout':
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed':
      return 1;
    case 'StateEntered':
      if (stateType === 'Task') return callback ? 4 : 3;
      if (stateType === 'Map' || stateType === 'Parallel') return 2;
      return 1;
    case 'StateExited':
      if (caught) return 1;
      if (stateType === 'Task' || stateType === 'Map' || stateType === 'Parallel') return 2;
      // A Fail state writes no exit event; it ends the run or its branch.
      return stateType === 'Fail' ? 0 : 1;
    case 'StateFailed':
      return 1;
    case 'StateRetried':
      return 2;
    case 'StateCaught':
      return 0;
    default:
      return 0;
  }
}

/** The run's history passed {@link HISTORY_EVENT_LIMIT}; neither retried nor caught, as on AWS. */
export class HistoryLimitExceededError extends Error {
  readonly events: number;

  constructor(events: number) {
    super(
      `the execution's history reached ${events} events, over the ${HISTORY_EVENT_LIMIT}-event limit of a Standard execution: AWS fails the run here (wait longer between polls, or split the work)`,
    );
    this.name = HISTORY_LIMIT_ERROR;
    this.events = events;
  }
  get isRetryable(): boolean {
    return false;
  }
  get isCatchable(): boolean {
    return false;
  }
}

/**
 * Counts one run's history events as AWS writes them; the first event over the limit is kept, and
 * every later Task is refused, as AWS stops the run there.
 *
 * @example
 * const history = new HistoryCounter((state) => callbackStates.has(state));
 * if (history.observe(event)) run.abort();
 * history.count // e.g. 1_234
 */
export class HistoryCounter {
  readonly #isCallback: (state: string) => boolean;
  readonly #limit: number;
  #count = 0;
  /** States whose error was caught and that have not exited yet. */
  readonly #caught = new Set<string>();
  #exceeded: HistoryLimitExceededError | undefined;

  /**
   * @param isCallback - whether the named state is a callback Task
   * @param limit - the limit (AWS's unless a test lowers it)
   */
  constructor(isCallback: (state: string) => boolean = () => false, limit = HISTORY_EVENT_LIMIT) {
    this.#isCallback = isCallback;
    this.#limit = limit;
  }

  /** Events AWS would have written so far. */
  get count(): number {
    return this.#count;
  }

  /** The error the run fails with, once the limit was passed. */
  get exceeded(): HistoryLimitExceededError | undefined {
    return this.#exceeded;
  }

  /** Adds a library event; true when it is the first to pass the limit. */
  observe(event: HistorySource): boolean {
    const state = 'state' in event ? (event.state as { name: string }).name : undefined;
    const key = `${state}\u0000${(event as { index?: number }).index ?? ''}`;
    if (event.type === 'StateCaught') this.#caught.add(key);
    const caught = event.type === 'StateExited' && this.#caught.delete(key);
    this.#count += historyEventsOf(event, state !== undefined && this.#isCallback(state), caught);
    if (this.#exceeded || this.#count <= this.#limit) return false;
    this.#exceeded = new HistoryLimitExceededError(this.#count);
    return true;
  }

  /** Throws the recorded error, so that no Task runs after the limit was passed. */
  assertWithin(): void {
    if (this.#exceeded) throw this.#exceeded;
  }
}
