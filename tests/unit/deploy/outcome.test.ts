import { describe, expect, it } from 'vitest';
import type { Batch, CommandStatus, GateState } from '../../../shared/deploy/contracts.ts';
import {
  describeBatch,
  describeBatchFailure,
  isBadInputError,
  summarizeDeploy,
  touchedBatches,
} from '../../../shared/deploy/outcome.ts';
import { describeBatchFailureStep } from '../../../shared/deploy/steps/describe-batch-failure.ts';
import { planRollbackStep } from '../../../shared/deploy/steps/plan-rollback.ts';

const host = (n: number) => ({ kind: 'local' as const, id: `local:h${n}`, directory: `/h${n}` });
const BATCHES: Batch[] = [
  { index: 0, hosts: [host(1)] },
  { index: 1, hosts: [host(2), host(3)] },
  { index: 2, hosts: [host(4)] },
];
const COMMAND_FAILED: CommandStatus = {
  status: 'failed',
  phase: 'deploy',
  commandId: 'c-7',
  total: 2,
  done: 2,
  failedCount: 1,
  allowedErrors: 0,
  failures: [{ hostId: 'local:h3', state: 'failed', exitCode: 2, outputTail: 'npm ERR! "quoted"\nline 2\n' }],
  polls: 3,
};
const GATE_FAILED: GateState = {
  status: 'unhealthy',
  consecutive: 0,
  rounds: 4,
  deadline: '2026-01-01T00:00:30.000Z',
  last: [{ probe: 'api', ok: false, detail: 'expected status 200, got 502' }],
};
const PLAN = { target: 'shop', ref: 'v3', runId: 'run-1' };

/** What the Map's Catch records for a batch that failed in `state`. */
function mapFailure(batch: Batch, state: string, error: string, cause: unknown) {
  const failed = describeBatchFailureStep({ batch, failure: { [state]: { Error: error, Cause: cause } } });
  return { Error: failed.error, Cause: failed.cause };
}

describe('batch failures', () => {
  it('carry the batch index, state, host and output tail through a JSON cause, quotes and newlines intact', () => {
    const caught = mapFailure(BATCHES[1] as Batch, 'WaitForDeploy', 'CommandFailedError', COMMAND_FAILED);
    expect(caught.Error).toBe('CommandFailedError');
    expect(describeBatchFailure(caught)).toEqual({
      batchIndex: 1,
      state: 'WaitForDeploy',
      error: 'CommandFailedError',
      message: 'deploy command c-7 failed on 1 of 2 host(s), 0 allowed: local:h3 failed with exit code 2',
      host: 'local:h3',
      outputTail: 'npm ERR! "quoted"\nline 2\n',
    });
  });

  it('describe a Lambda error caught inside a batch by its errorMessage', () => {
    const cause = JSON.stringify({
      errorType: 'Lambda.TooManyRequestsException',
      errorMessage: 'Rate exceeded',
      trace: [],
    });
    expect(
      describeBatch(BATCHES[0] as Batch, {
        SendDeployCommand: { Error: 'Lambda.TooManyRequestsException', Cause: cause },
      }),
    ).toEqual({
      batchIndex: 0,
      state: 'SendDeployCommand',
      error: 'Lambda.TooManyRequestsException',
      message: 'Rate exceeded',
    });
  });

  it('roll back the batches up to the failed one, or all of them when the index is unknown', () => {
    expect(touchedBatches(BATCHES, 1).map((b) => b.index)).toEqual([0, 1]);
    expect(touchedBatches(BATCHES, undefined).map((b) => b.index)).toEqual([0, 1, 2]);
    const plan = planRollbackStep({
      batches: BATCHES,
      failure: mapFailure(BATCHES[1] as Batch, 'CheckHealth', 'HealthGateFailedError', GATE_FAILED),
    });
    expect(plan.hosts.map((h) => h.id)).toEqual(['local:h1', 'local:h2', 'local:h3']);
    expect(plan).toMatchObject({
      batchesTouched: 2,
      gate: { status: 'starting' },
      failure: { state: 'CheckHealth' },
    });
    const unknown = planRollbackStep({
      batches: BATCHES,
      failure: { Error: 'States.Runtime', Cause: 'something odd' },
    });
    expect(unknown.hosts).toHaveLength(4);
    expect(unknown.failure).toEqual({
      state: 'DeployBatches',
      error: 'States.Runtime',
      message: 'something odd',
    });
  });
});

describe('summarizeDeploy', () => {
  it('succeeded', () => {
    const summary = summarizeDeploy({
      plan: PLAN,
      hosts: { hosts: [host(1), host(2)], batchCount: 2 },
      failures: {},
    });
    expect(summary).toEqual({
      outcome: 'succeeded',
      target: 'shop',
      ref: 'v3',
      summary: 'deployed v3 to 2 hosts of shop in 2 batches',
    });
  });

  it('succeeded even if the lock could not be released, saying so', () => {
    const summary = summarizeDeploy({
      plan: PLAN,
      hosts: { hosts: [host(1)], batchCount: 1 },
      failures: { ReleaseLock: { Error: 'States.Timeout', Cause: 'States.Timeout' } },
    });
    expect(summary.outcome).toBe('succeeded');
    expect(summary.summary).toContain('releasing the lock failed');
  });

  it('failed before any host: the original error, state and message', () => {
    const cause = JSON.stringify({
      errorType: 'TargetLockedError',
      errorMessage: 'target "shop" is locked by run run-0',
      trace: [],
    });
    const summary = summarizeDeploy({
      plan: PLAN,
      failures: { ClaimHosts: { Error: 'TargetLockedError', Cause: cause } },
    });
    expect(summary).toMatchObject({
      outcome: 'failed',
      error: 'TargetLockedError',
      failedState: 'ClaimHosts',
    });
    expect(summary.summary).toBe(
      'deploy of "v3" to shop failed at ClaimHosts, before any host was changed: target "shop" is locked by run run-0',
    );
  });

  it('rolled back to health: DeployFailedError naming state, host and output tail', () => {
    const failure = mapFailure(BATCHES[1] as Batch, 'WaitForDeploy', 'CommandFailedError', COMMAND_FAILED);
    const rollback = {
      ...planRollbackStep({ batches: BATCHES, failure }),
      gate: { ...GATE_FAILED, status: 'healthy' as const, last: [] },
    };
    const summary = summarizeDeploy({
      plan: PLAN,
      hosts: { hosts: [], batchCount: 3 },
      rollback,
      failures: { DeployBatches: failure },
    });
    expect(summary).toMatchObject({
      outcome: 'rolled-back',
      error: 'DeployFailedError',
      failedState: 'WaitForDeploy',
      host: 'local:h3',
      outputTail: COMMAND_FAILED.failures[0]?.outputTail,
    });
    expect(summary.summary).toBe(
      'deploy of "v3" to shop failed its command on batch 2/3 and was rolled back to health on 3 hosts',
    );
    expect(summary.cause).toContain(
      'failed state: WaitForDeploy (batch 2 of 3)\nhost: local:h3\nerror: CommandFailedError',
    );
    expect(summary.cause).toContain('output tail:\nnpm ERR! "quoted"\nline 2');
  });

  it('rollback failed: RollbackFailedError when the hosts are not healthy after the rollback', () => {
    const failure = mapFailure(BATCHES[0] as Batch, 'CheckHealth', 'HealthGateFailedError', GATE_FAILED);
    const rollback = planRollbackStep({ batches: BATCHES, failure });
    const summary = summarizeDeploy({
      plan: PLAN,
      hosts: { hosts: [], batchCount: 3 },
      rollback,
      failures: {
        DeployBatches: failure,
        CheckHealthAfterRollback: { Error: 'HealthGateFailedError', Cause: GATE_FAILED },
      },
    });
    expect(summary).toMatchObject({
      outcome: 'rollback-failed',
      error: 'RollbackFailedError',
      failedState: 'CheckHealthAfterRollback',
    });
    expect(summary.summary).toContain(
      'failed the health gate on batch 1/3 and the rollback failed at CheckHealthAfterRollback: health gate not passed after 4 round(s)',
    );
    expect(summary.cause).toContain('deploy failed state: CheckHealth (batch 1 of 3)');
  });

  it('keeps a hostile ref readable and short in messages', () => {
    const cause = JSON.stringify({
      errorType: 'InvalidInputError',
      errorMessage: 'ref is not a valid ref',
      trace: [],
    });
    const summary = summarizeDeploy({
      target: 'shop',
      ref: 'v1\n$(reboot)',
      failures: { PlanDeploy: { Error: 'InvalidInputError', Cause: cause } },
    });
    expect(summary.summary).toBe(
      'deploy of "v1 $(reboot)" to shop failed at PlanDeploy, before any host was changed: ref is not a valid ref',
    );
  });
});

describe('isBadInputError', () => {
  it('tells bad input (exit 2) from a failed run (exit 1)', () => {
    expect(['InvalidInputError', 'UnknownTargetError', 'ConfigError'].map(isBadInputError)).toEqual([
      true,
      true,
      true,
    ]);
    expect(['TargetLockedError', 'DeployFailedError', undefined].map(isBadInputError)).toEqual([
      false,
      false,
      false,
    ]);
  });
});
