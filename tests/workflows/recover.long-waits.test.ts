/**
 * The longest waits the recover workflow allows, counted as Step Functions writes its history
 * (a Standard execution fails past 25,000 events): an approval that waits its full 7 days (a
 * callback Task: its events do not grow with the wait) and an RDS restore step that polls for the
 * whole 12-hour lease a run may hold, one long-poll (50 s) per invocation of its Lambda.
 */
import { describe, expect, it } from 'vitest';
import { MAX_LEASE_SECONDS } from '../../shared/deploy/bounds.ts';
import { createLocalEngine, type LambdaHandler } from '../../shared/engine/index.ts';
import { localArns } from '../../workflows/asl.ts';
import { RECOVER_FUNCTIONS, type RecoverFunction, recoverWorkflow } from '../../workflows/recover.ts';

const LOCAL_RECOVER_ARNS = localArns(RECOVER_FUNCTIONS);

const LONG_POLL_SECONDS = 50;

function engineFor(restoreSeconds: number) {
  let elapsed = 0;
  const stub = (fn: RecoverFunction): LambdaHandler => {
    switch (fn) {
      case 'plan-recovery':
        return async () => ({
          target: 'datizmo',
          runbook: 'restore-database',
          runId: 'long-run',
          params: {},
          lockTtlSeconds: MAX_LEASE_SECONDS,
          approval: { required: true, timeoutSeconds: 7 * 86_400 },
          verify: { enabled: false },
          steps: [
            {
              index: 0,
              name: 'restore',
              type: 'restore-rds',
              kind: 'restore-rds',
              approve: false,
              timeoutSeconds: restoreSeconds,
            },
          ],
        });
      case 'restore-database':
        // One long-poll per invocation, as the real step does, until the restore is available.
        return async () => {
          elapsed += LONG_POLL_SECONDS;
          return { status: elapsed >= restoreSeconds ? 'done' : 'running' };
        };
      case 'notify-recovery':
        return async () => ({ outcome: 'succeeded', summary: 'restored' });
      default:
        return async () => ({});
    }
  };
  const handlers = Object.fromEntries(RECOVER_FUNCTIONS.map((fn) => [LOCAL_RECOVER_ARNS[fn], stub(fn)]));
  const engine = createLocalEngine(recoverWorkflow(LOCAL_RECOVER_ARNS), handlers);
  return engine.start(
    { target: 'datizmo', runbook: 'restore-database' },
    { onTaskToken: (task) => engine.taskTokens.sendTaskSuccess(task.token, { approved: true, by: 'ana' }) },
  ).result;
}

describe('the recover workflow’s longest waits stay below 25,000 history events', () => {
  it('an approval of up to 7 days and an RDS restore of 1 hour: a few hundred events', async () => {
    // Act
    const result = await engineFor(3_600);

    // Assess: 72 polls of 7 events each, and a callback whose events do not grow with its wait
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(result.historyEvents).toBeLessThan(600);
  });

  it('an RDS restore that polls for the whole 12-hour lease stays under a third of the limit', async () => {
    // Act
    const result = await engineFor(MAX_LEASE_SECONDS);

    // Assess: 864 polls of 7 events each (no Wait between polls yet in this workflow)
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(result.historyEvents).toBeLessThan(25_000 / 3);
  });
});
