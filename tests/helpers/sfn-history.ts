/**
 * Step Functions execution histories as `GetExecutionHistory` returns them (event types and detail
 * shapes of the API reference's `HistoryEvent`): sequential ids, `previousEventId` links, Lambda Tasks
 * invoked by ARN (`LambdaFunction*` events), inline Map iterations, caught errors (the failure event,
 * then the catcher's next state with no exit event) and timeouts. Built in order; tests page them.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';

const ROLE = 'arn:aws:iam::123456789012:role/stepops-test-DeployWorkflowRole';
const FUNCTION = (name: string) => `arn:aws:lambda:eu-west-1:123456789012:function:stepops-test-${name}`;

/** `inputDetails`/`outputDetails`: the data was included whole. */
const data = (_text: string) => ({ truncated: false });

/** Builds one execution's history, oldest first. */
export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  #clock: number;
  #last = 0;

  /** @param start when the execution started */
  constructor(start: Date) {
    this.#clock = start.getTime();
  }

  /** Moves the clock on by `ms` and appends an event of `type` with its details. */
  add(type: HistoryEvent['type'], details: Partial<HistoryEvent> = {}, ms = 20): number {
    this.#clock += ms;
    const id = this.events.length + 1;
    this.events.push({
      id,
      previousEventId: this.#last,
      timestamp: new Date(this.#clock),
      type,
      ...details,
    } as HistoryEvent);
    this.#last = id;
    return id;
  }

  started(input: object): this {
    const text = JSON.stringify(input);
    this.add(
      'ExecutionStarted',
      { executionStartedEventDetails: { input: text, inputDetails: data(text), roleArn: ROLE } },
      0,
    );
    return this;
  }

  /**
   * A Lambda Task: entered, scheduled, started, then succeeded with `output` and exited, or failed
   * with `error` (a caught or final failure: no exit event), or timed out (`States.Timeout`).
   */
  task(
    name: string,
    fn: string,
    options: {
      output?: unknown;
      error?: string;
      cause?: string;
      timedOut?: boolean;
      ms?: number;
      retriedFirst?: { error: string; cause: string };
    } = {},
  ): this {
    const input = '{}';
    this.add('TaskStateEntered', { stateEnteredEventDetails: { name, input, inputDetails: data(input) } });
    const invoke = () => {
      this.add('LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: {
          resource: FUNCTION(fn),
          input,
          inputDetails: data(input),
          timeoutInSeconds: 60,
        },
      });
      this.add('LambdaFunctionStarted');
    };
    invoke();
    if (options.retriedFirst) {
      this.add('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: options.retriedFirst }, 50);
      invoke();
    }
    const ms = options.ms ?? 200;
    if (options.timedOut) {
      this.add(
        'LambdaFunctionTimedOut',
        { lambdaFunctionTimedOutEventDetails: { error: 'States.Timeout', cause: options.cause ?? '' } },
        ms,
      );
      return this;
    }
    if (options.error) {
      this.add(
        'LambdaFunctionFailed',
        { lambdaFunctionFailedEventDetails: { error: options.error, cause: options.cause ?? '' } },
        ms,
      );
      return this;
    }
    const output = JSON.stringify(options.output ?? {});
    this.add(
      'LambdaFunctionSucceeded',
      { lambdaFunctionSucceededEventDetails: { output, outputDetails: data(output) } },
      ms,
    );
    this.add('TaskStateExited', { stateExitedEventDetails: { name, output, outputDetails: data(output) } });
    return this;
  }

  /** A Choice, Pass or Succeed state: entered and exited. */
  flow(kind: 'Choice' | 'Pass' | 'Succeed', name: string, output: unknown = {}): this {
    const text = JSON.stringify(output);
    this.add(`${kind}StateEntered`, {
      stateEnteredEventDetails: { name, input: '{}', inputDetails: data('{}') },
    });
    this.add(`${kind}StateExited`, {
      stateExitedEventDetails: { name, output: text, outputDetails: data(text) },
    });
    return this;
  }

  /** A Fail state: entered, with no exit. */
  failState(name: string): this {
    this.add('FailStateEntered', {
      stateEnteredEventDetails: { name, input: '{}', inputDetails: data('{}') },
    });
    return this;
  }

  /** A Map state: entered and started over `length` items. */
  mapStarted(name: string, length: number): this {
    this.add('MapStateEntered', {
      stateEnteredEventDetails: { name, input: '{}', inputDetails: data('{}') },
    });
    this.add('MapStateStarted', { mapStateStartedEventDetails: { length } });
    return this;
  }

  iteration(name: string, index: number, end: 'Started' | 'Succeeded' | 'Failed'): this {
    this.add(`MapIteration${end}`, iterationDetails(end, name, index));
    return this;
  }

  /** The Map ends: succeeded and exited, or failed (caught: the next state follows with no exit). */
  mapEnded(name: string, outcome: 'Succeeded' | 'Failed'): this {
    if (outcome === 'Failed') {
      this.add('MapStateFailed');
      return this;
    }
    this.add('MapStateSucceeded');
    this.add('MapStateExited', {
      stateExitedEventDetails: { name, output: '{}', outputDetails: data('{}') },
    });
    return this;
  }

  succeeded(output: unknown): HistoryEvent[] {
    const text = JSON.stringify(output);
    this.add('ExecutionSucceeded', {
      executionSucceededEventDetails: { output: text, outputDetails: data(text) },
    });
    return this.events;
  }

  failed(error: string, cause: string): HistoryEvent[] {
    this.add('ExecutionFailed', { executionFailedEventDetails: { error, cause } });
    return this.events;
  }

  timedOut(): HistoryEvent[] {
    this.add('ExecutionTimedOut', {
      executionTimedOutEventDetails: { error: 'States.Timeout', cause: 'The execution timed out' },
    });
    return this.events;
  }

  /** The events so far (a running execution). */
  get running(): HistoryEvent[] {
    return this.events;
  }
}

function iterationDetails(end: 'Started' | 'Succeeded' | 'Failed', name: string, index: number) {
  const details = { name, index };
  if (end === 'Started') return { mapIterationStartedEventDetails: details };
  if (end === 'Succeeded') return { mapIterationSucceededEventDetails: details };
  return { mapIterationFailedEventDetails: details };
}

/**
 * The pages `GetExecutionHistory` answers for a history: `maxResults` events per page, newest first
 * with `reverseOrder`, each page but the last with a `nextToken`.
 */
export function historyPages(
  events: readonly HistoryEvent[],
  maxResults: number,
  reverseOrder = false,
): { events: HistoryEvent[]; nextToken?: string }[] {
  const ordered = reverseOrder ? [...events].reverse() : [...events];
  const pages: { events: HistoryEvent[]; nextToken?: string }[] = [];
  for (let i = 0; i < ordered.length; i += maxResults) {
    const page: { events: HistoryEvent[]; nextToken?: string } = { events: ordered.slice(i, i + maxResults) };
    if (i + maxResults < ordered.length) page.nextToken = `token-${i + maxResults}`;
    pages.push(page);
  }
  return pages.length ? pages : [{ events: [] }];
}

/**
 * A deploy of `v3` to `api-server` on two batches whose second batch failed its health gate: the
 * Map iteration 1 failed, the Map's error was caught, the rollback ran healthy, and the run ended
 * `DeployFailedError` in the `Failed` state with the cause `summarizeDeploy` writes.
 */
export function gateFailedDeploy(start = new Date('2026-11-22T03:00:00Z')): {
  events: HistoryEvent[];
  error: string;
  cause: string;
} {
  const cause = [
    'deploy of "v3" to api-server failed the health gate on batch 2/2 and was rolled back to health on 2 hosts',
    'failed state: CheckHealth (batch 2 of 2)',
    'host: i-0b22222222222222b',
    'error: HealthGateFailedError: health gate not passed after 5 round(s): up on i-0b22222222222222b: HTTP 502',
  ].join('\n');
  const outcome = {
    outcome: 'rolled-back',
    summary: cause.split('\n')[0],
    error: 'DeployFailedError',
    cause,
    failedState: 'CheckHealth',
    host: 'i-0b22222222222222b',
  };
  const b = new HistoryBuilder(start).started({ target: 'api-server', ref: 'v3', requestedBy: 'api' });
  b.task('PlanDeploy', 'plan-deploy', { output: { target: 'api-server', ref: 'v3' } })
    // As long as the two steps it does (the lease, then the hosts) took as separate tasks.
    .task('ClaimHosts', 'claim-hosts', { ms: 500 })
    .flow('Choice', 'SnapshotRequested')
    .mapStarted('DeployBatches', 2);
  for (const index of [0, 1]) {
    b.iteration('DeployBatches', index, 'Started')
      .task('SendDeployCommand', 'send-command', { output: { commandId: `c-${index}` } })
      .task('WaitForDeploy', 'poll-command', { output: { status: 'succeeded' } })
      .flow('Choice', 'DeployCommandDone')
      .task('CheckHealth', 'check-health', {
        output: { status: index === 0 ? 'healthy' : 'unhealthy' },
        ms: 45_000,
      })
      .flow('Choice', 'HealthGateDone');
    if (index === 0) {
      b.flow('Succeed', 'BatchDeployed').iteration('DeployBatches', index, 'Succeeded');
    } else {
      b.flow('Pass', 'RecordGateFailure')
        .task('DescribeBatchFailure', 'describe-batch-failure')
        .failState('BatchFailed')
        .iteration('DeployBatches', index, 'Failed');
    }
  }
  b.mapEnded('DeployBatches', 'Failed')
    .task('PlanRollback', 'plan-rollback')
    .task('SendRollbackCommand', 'send-command', { output: { commandId: 'c-rollback' } })
    .task('WaitForRollback', 'poll-command', { output: { status: 'succeeded' } })
    .flow('Choice', 'RollbackCommandDone')
    .task('CheckHealthAfterRollback', 'check-health', { output: { status: 'healthy' } })
    .flow('Choice', 'RollbackHealthDone')
    .task('ReleaseLock', 'release-lock')
    .task('Notify', 'notify', { output: outcome })
    .flow('Choice', 'RunSucceeded')
    .failState('Failed');
  return { events: b.failed('DeployFailedError', cause), error: 'DeployFailedError', cause };
}
