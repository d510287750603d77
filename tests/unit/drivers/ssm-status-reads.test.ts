/**
 * SSM status reads on the shared SSM fake (issue 19 item 13): paced, bounded in concurrency, a
 * throttled read is no news rather than a failure, and ListCommands filter times in the format SSM
 * documents (no milliseconds).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  commandFilterTime,
  SsmCommandRunner,
  STATUS_READ_CONCURRENCY,
} from '../../../shared/drivers/aws/ssm-command-runner.ts';
import type { HostRef } from '../../../shared/drivers/ports.ts';
import { CallLog } from '../../fakes/common.ts';
import { type FakeSsm, fakeSsm } from '../../fakes/ssm.ts';

process.env.AWS_ACCESS_KEY_ID ??= 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY ??= 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const REGION = 'eu-west-1';
const hosts = (n: number): HostRef[] =>
  Array.from({ length: n }, (_, i) => ({
    kind: 'ec2',
    id: `i-${String(i).padStart(17, '0')}`,
    region: REGION,
  }));
const request = (n: number) => ({
  hosts: hosts(n),
  script: 'echo ok',
  timeoutSeconds: 60,
  comment: 'stepops deploy web v2 batch 1 run r-1',
});

let log: CallLog;
let ssm: FakeSsm;
beforeEach(() => {
  log = new CallLog();
  ssm = fakeSsm(log, { invisibleReads: 0, run: () => ({ code: 0, stdout: 'ok\n', stderr: '' }) });
});
afterEach(() => ssm.restore());

describe('SSM status reads', () => {
  it('reads the invocations of a finished 20-host command a few at a time, so SSM does not throttle them', async () => {
    // Prepare: SSM throttles more than 8 GetCommandInvocation calls in flight at once
    ssm.switches.maxInFlight = 8;
    const runner = new SsmCommandRunner();
    const handle = await runner.send(request(20));

    // Act
    const results = await runner.status(handle);

    // Assess
    expect(results.map((r) => r.state)).toEqual(Array(20).fill('succeeded'));
    expect(ssm.peakInFlight.get('GetCommandInvocation')).toBeLessThanOrEqual(STATUS_READ_CONCURRENCY);
    expect(ssm.throttled.get('GetCommandInvocation') ?? 0).toBe(0);
  });

  it('a throttled read is no news: the hosts still count as running, nothing is thrown', async () => {
    // Prepare
    const runner = new SsmCommandRunner();
    const one = await runner.send(request(1));
    const many = await runner.send(request(3));
    ssm.switches.throttle.GetCommandInvocation = 1;
    ssm.switches.throttle.ListCommands = 1;

    // Act
    const [single] = await runner.status(one);
    const whole = await runner.status(many);
    const again = await runner.status(one);

    // Assess
    expect(single).toMatchObject({ state: 'running', outputTail: expect.stringContaining('throttled') });
    expect(whole.map((r) => r.state)).toEqual(['running', 'running', 'running']);
    expect(again[0]?.state).toBe('succeeded');
  });

  it('paces its reads at 2 s or more', () => {
    expect(new SsmCommandRunner().statusPaceMs).toBeGreaterThanOrEqual(2_000);
  });

  it('looks for a command it already sent with InvokedAfter in whole seconds, as SSM takes it', async () => {
    // Prepare: the run started at a time with milliseconds, as $$.Execution.StartTime gives it
    const runner = new SsmCommandRunner();
    const idempotency = { key: 'r-1/deploy/0', since: '2026-03-01T02:00:00.750Z' };

    // Act
    const first = await runner.send({ ...request(2), idempotency });
    const retried = await runner.send({ ...request(2), idempotency });

    // Assess: the retried send found the first command instead of sending again
    expect(retried.commandId).toBe(first.commandId);
    expect(ssm.commands.size).toBe(1);
    const filters = log.of('ssm:ListCommands').map((i) => i.Filters);
    expect(filters).toContainEqual(
      expect.arrayContaining([{ key: 'InvokedAfter', value: '2026-03-01T02:00:00Z' }]),
    );
    expect(commandFilterTime('2026-03-01T02:00:00.750Z')).toBe('2026-03-01T02:00:00Z');
  });
});
