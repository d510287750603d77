/**
 * Step Functions histories, as `GetExecutionHistory` pages them, read as trace events: the timeline
 * and the live progress of a run on AWS are those of a local run. Histories include a failed Map
 * iteration, a caught Lambda error, a retried one and a timed-out task.
 */
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../../cli/progress.ts';
import { progressMapper } from '../../../cli/runs/engine.ts';
import { HistoryReader } from '../../../cli/runs/sfn-history.ts';
import { formatTimeline } from '../../../shared/engine/trace.ts';
import { gateFailedDeploy, HistoryBuilder, historyPages } from '../../helpers/sfn-history.ts';

const START = new Date('2026-11-22T03:00:00Z');

function readPaged(events: Parameters<HistoryReader['read']>[0], pageSize: number): HistoryReader {
  const reader = new HistoryReader();
  for (const page of historyPages(events, pageSize)) reader.read(page.events);
  reader.flush();
  return reader;
}

describe('HistoryReader', () => {
  it('reads a deploy whose second batch failed its gate, paged 7 events at a time, as the local timeline does', () => {
    // Prepare
    const { events } = gateFailedDeploy(START);

    // Act
    const reader = readPaged(events, 7);
    const trace = reader.trace('api-server-fedcba9876543210');

    // Assess
    expect(trace.status).toBe('FAILED');
    expect(trace.error).toBe('DeployFailedError');
    const step = (state: string, iteration?: number) =>
      trace.steps.find((s) => s.state === state && s.iteration === iteration);
    expect(step('CheckHealth', 0)).toMatchObject({ outcome: 'succeeded', depth: 1 });
    expect(step('CheckHealth', 1)).toMatchObject({ outcome: 'succeeded', depth: 1 });
    expect(step('BatchFailed', 1)).toMatchObject({ outcome: 'failed', stateType: 'Fail' });
    expect(step('DeployBatches')).toMatchObject({ outcome: 'caught', depth: 0 });
    expect(step('PlanRollback')).toMatchObject({ outcome: 'succeeded', depth: 0 });
    expect(trace.invocations.map((i) => i.functionName)).toContain('stepops-test-describe-batch-failure');
    const timeline = formatTimeline(trace);
    expect(timeline).toMatch(/\[1\] BatchFailed\s+Fail .* failed/);
    expect(timeline).toContain(
      'FAILED DeployFailedError: deploy of "v3" to api-server failed the health gate',
    );
  });

  it('gives the same events whatever the page size', () => {
    // Prepare
    const { events } = gateFailedDeploy(START);

    // Act
    const whole = readPaged(events, 1000).events.map((e) => [e.kind, e.state, e.iteration]);
    const small = readPaged(events, 3).events.map((e) => [e.kind, e.state, e.iteration]);

    // Assess
    expect(small).toEqual(whole);
  });

  it('reports a caught Lambda error as failed then caught, with the state it went to', () => {
    // Prepare: AcquireLock fails with TargetLockedError, caught to ReleaseLock
    const events = new HistoryBuilder(START)
      .started({ target: 'api-server', ref: 'v3' })
      .task('PlanDeploy', 'plan-deploy')
      .task('AcquireLock', 'acquire-lock', {
        error: 'TargetLockedError',
        cause: '{"errorType":"TargetLockedError","errorMessage":"held by run api-server-1","trace":[]}',
      })
      .task('ReleaseLock', 'release-lock')
      .task('Notify', 'notify', { output: { outcome: 'failed', summary: 'locked' } })
      .flow('Choice', 'RunSucceeded')
      .failState('Failed')
      .failed('TargetLockedError', 'deploy of "v3" to api-server failed at AcquireLock');
    const toProgress = progressMapper();

    // Act
    const reader = readPaged(events, 4);
    const lines = reader.events.flatMap((e) => {
      const shown = toProgress(e);
      return shown ? [progressLine(shown)] : [];
    });

    // Assess
    expect(lines).toContain('⤷ AcquireLock caught TargetLockedError → ReleaseLock');
    expect(lines.some((l) => l.startsWith('✖ AcquireLock') && l.endsWith('TargetLockedError'))).toBe(true);
    expect(reader.trace('r').steps.find((s) => s.state === 'AcquireLock')?.outcome).toBe('caught');
  });

  it('reports a transient Lambda error followed by another invocation as a retry', () => {
    // Prepare
    const events = new HistoryBuilder(START)
      .started({})
      .task('PlanDeploy', 'plan-deploy', {
        retriedFirst: { error: 'Lambda.TooManyRequestsException', cause: 'Rate exceeded' },
      })
      .succeeded({});

    // Act
    const reader = readPaged(events, 2);
    const trace = reader.trace('r');

    // Assess
    expect(reader.events.filter((e) => e.kind === 'state-retried')).toEqual([
      expect.objectContaining({ state: 'PlanDeploy', error: 'Lambda.TooManyRequestsException' }),
    ]);
    expect(trace.steps[0]).toMatchObject({ state: 'PlanDeploy', outcome: 'succeeded', retries: 1 });
    expect(trace.invocations).toHaveLength(2);
    expect(trace.status).toBe('SUCCEEDED');
  });

  it('reads a task that timed out and the execution timing out', () => {
    // Prepare
    const events = new HistoryBuilder(START)
      .started({})
      .task('WaitForDeploy', 'poll-command', { timedOut: true, cause: 'Task timed out after 90 s' })
      .timedOut();

    // Act
    const trace = readPaged(events, 5).trace('r');

    // Assess
    expect(trace.steps[0]).toMatchObject({
      state: 'WaitForDeploy',
      outcome: 'failed',
      error: 'States.Timeout',
    });
    expect(trace.status).toBe('FAILED');
    expect(trace.error).toBe('States.Timeout');
  });

  it('leaves a run in progress running, and reads only what is new on the next page', () => {
    // Prepare
    const builder = new HistoryBuilder(START).started({}).task('PlanDeploy', 'plan-deploy');
    builder.add('TaskStateEntered', { stateEnteredEventDetails: { name: 'AcquireLock', input: '{}' } });
    const reader = new HistoryReader();

    // Act
    const first = reader.read(builder.running);
    const again = reader.read(builder.running);

    // Assess
    expect(first.at(-1)).toMatchObject({ kind: 'state-entered', state: 'AcquireLock' });
    expect(again).toEqual([]);
    expect(reader.ended).toBe(false);
    expect(reader.trace('r').steps.at(-1)).toMatchObject({ state: 'AcquireLock', outcome: 'running' });
  });
});
