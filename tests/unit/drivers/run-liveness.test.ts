/**
 * Run liveness: Step Functions `DescribeExecution` by execution ARN on AWS (aws-sdk-client-mock,
 * the exact input asserted), the local run records on this machine, and the choice between them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Target } from '../../../shared/config/schema.ts';
import { executionRegion, SfnRunLiveness } from '../../../shared/drivers/aws/sfn-run-liveness.ts';
import { LocalRunLiveness } from '../../../shared/drivers/local/local-run-liveness.ts';
import { runLivenessFor } from '../../../shared/drivers/run-liveness.ts';

const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-recover:demo-restart-app-1';
const sfn = mockClient(SFNClient);

/** An SDK v3 error as the service raises it. */
function sdkError(name: string, status = 400): Error {
  return Object.assign(new Error(name), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status, attempts: 1, totalRetryDelay: 0 },
  });
}

beforeEach(() => sfn.reset());
afterEach(() => sfn.reset());

describe('SfnRunLiveness', () => {
  it('asks DescribeExecution for exactly the execution ARN, in its region, and is alive while RUNNING', async () => {
    // Prepare
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' } as never);

    // Act
    const alive = await new SfnRunLiveness().alive(ARN);

    // Assess
    expect(alive).toBe(true);
    const calls = sfn.commandCalls(DescribeExecutionCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({ executionArn: ARN });
    expect(await calls[0]?.thisValue.config.region()).toBe('eu-west-1');
  });

  it.each(['ABORTED', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'PENDING_REDRIVE'])(
    'is not alive once %s',
    async (status) => {
      sfn.on(DescribeExecutionCommand).resolves({ status } as never);
      expect(await new SfnRunLiveness().alive(ARN)).toBe(false);
    },
  );

  it('answers unknown for an execution Step Functions does not know', async () => {
    sfn.on(DescribeExecutionCommand).rejects(sdkError('ExecutionDoesNotExist'));
    expect(await new SfnRunLiveness().alive(ARN)).toBeUndefined();
  });

  it('answers unknown without a call for an id that is not an execution ARN (a lease run id)', async () => {
    expect(await new SfnRunLiveness().alive('demo-3f2a')).toBeUndefined();
    expect(
      await new SfnRunLiveness().alive('arn:aws:states:eu-west-1:123456789012:stateMachine:x'),
    ).toBeUndefined();
    // The local engine's execution ARNs (its run is not in Step Functions)
    expect(
      await new SfnRunLiveness().alive('arn:aws:states:local:000000000000:execution:stepops-recover:r1'),
    ).toBeUndefined();
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
  });

  it('lets other errors through (access denied is not "unknown")', async () => {
    sfn.on(DescribeExecutionCommand).rejects(sdkError('AccessDeniedException'));
    await expect(new SfnRunLiveness().alive(ARN)).rejects.toThrow('AccessDeniedException');
  });

  it('reads the region of an execution ARN', () => {
    expect(executionRegion(ARN)).toBe('eu-west-1');
    expect(executionRegion('demo-1')).toBeUndefined();
  });
});

describe('LocalRunLiveness', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(path.join(tmpdir(), 'stepops-liveness-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const record = (runId: string, status: string, pid = process.pid) => {
    mkdirSync(path.join(home, 'runs', runId), { recursive: true });
    writeFileSync(path.join(home, 'runs', runId, 'run.json'), JSON.stringify({ runId, status, pid }));
  };

  it('reads a run by its id or by the execution ARN the local engine gives it', async () => {
    record('demo-1', 'RUNNING');
    record('demo-2', 'ABORTED');
    const runs = new LocalRunLiveness({ home: () => home });
    expect(await runs.alive('demo-1')).toBe(true);
    expect(await runs.alive('arn:aws:states:local:000000000000:execution:stepops-recover:demo-1')).toBe(true);
    expect(await runs.alive('arn:aws:states:local:000000000000:execution:stepops-recover:demo-2')).toBe(
      false,
    );
    expect(
      await runs.alive('arn:aws:states:local:000000000000:execution:stepops-recover:demo-3'),
    ).toBeUndefined();
  });
});

describe('runLivenessFor', () => {
  const target = { name: 'demo', hosts: { type: 'local', directory: ['/tmp/x'] } } as unknown as Target;

  it('on a stage, asks Step Functions for an execution ARN and answers unknown for anything else', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ status: 'ABORTED' } as never);
    const runs = runLivenessFor(target, { stateTable: 'stepops-prod-state' });
    expect(await runs.alive(ARN)).toBe(false);
    expect(await runs.alive('demo-3f2a')).toBeUndefined();
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: ARN },
    ]);
  });
});
