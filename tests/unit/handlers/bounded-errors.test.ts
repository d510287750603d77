import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
});

import { handler as claimHosts } from '../../../functions/claim-hosts/handler.ts';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import {
  boundError,
  ERROR_MESSAGE_BUDGET,
  ERROR_TRACE_FRAMES,
  InvalidInputError,
} from '../../../shared/errors.ts';
import { DEPLOY_FUNCTIONS } from '../../../workflows/deploy.ts';
import { lambdaContext } from '../api/events.ts';

describe('errors entering the state', () => {
  it('are cut to the budget, saying how much was cut, with a short stack', () => {
    // Act
    const error = boundError(new InvalidInputError(`ref ${'x'.repeat(50_000)} is not a valid ref`));

    // Assess
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toHaveLength(ERROR_MESSAGE_BUDGET);
    expect(error.message).toMatch(/… \[\d+ more characters cut\]$/);
    const stack = (error.stack ?? '').split('\n');
    expect(stack[0]).toBe(`InvalidInputError: ${error.message}`);
    expect(stack.length).toBeLessThanOrEqual(1 + ERROR_TRACE_FRAMES);
  });

  it('keep a short message as it is, and make a readable Error of a thrown string', () => {
    expect(boundError(new Error('short')).message).toBe('short');
    expect(boundError('plain text')).toMatchObject({ name: 'Error', message: 'plain text' });
  });

  it.each(DEPLOY_FUNCTIONS)(
    'are bounded by the %s handler, whose middy chain starts with boundedErrors()',
    (name) => {
      // The behaviour itself is run end to end in the workflow tests (a 200 KB ref); here, that no
      // deploy handler leaves it out: its errors would enter the state unbounded.
      const source = readFileSync(new URL(`../../../functions/${name}/handler.ts`, import.meta.url), 'utf8');
      expect(source).toMatch(/middy\(\)\s*\.use\(boundedErrors\(\)\)/);
    },
  );
});

describe('a handler whose driver rejects with something other than an Error', () => {
  const ec2 = mockClient(EC2Client);
  // claim-hosts takes the target's lease first: in a temporary state directory.
  const home = mkdtempSync(path.join(tmpdir(), 'stepops-odd-'));
  const savedHome = process.env.STEPOPS_HOME;
  process.env.STEPOPS_HOME = home;
  afterAll(() => {
    ec2.restore();
    clearRegisteredTargets();
    if (savedHome === undefined) delete process.env.STEPOPS_HOME;
    else process.env.STEPOPS_HOME = savedHome;
    rmSync(home, { recursive: true, force: true });
  });

  it.each([
    ['undefined', undefined, 'thrown without an Error: rejected without a reason (undefined)'],
    ['null', null, 'thrown without an Error: rejected without a reason (null)'],
    ['a string', 'Rate exceeded', 'Rate exceeded'],
    [
      'a null-prototype object',
      Object.assign(Object.create(null), { code: 'Throttling' }),
      'thrown without an Error: rejected with {"code":"Throttling"}',
    ],
  ])(
    'fails its state with a named Error and a readable reason when EC2 rejects with %s',
    async (_what, value, message) => {
      // Prepare: claim-hosts of an ec2 target, whose DescribeInstances rejects with that value
      registerTarget({
        name: 'odd-rejection',
        description: 'an ec2 target whose EC2 client rejects oddly',
        hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: 'odd' }, workingDirectory: '/opt/odd' },
        deploy: {
          steps: [{ name: 'pull', script: 'git pull', timeout: 60 }],
          rollback: [{ name: 'back', script: 'git checkout -', timeout: 60 }],
          healthGate: { probes: ['up'], timeout: 30, interval: 5, successes: 1 },
        },
        health: { schedule: 'rate(5 minutes)', probes: [{ name: 'up', type: 'command', script: 'true' }] },
      });
      ec2.reset();
      ec2.on(DescribeInstancesCommand).callsFake(() => Promise.reject(value));

      // Act
      const act = claimHosts(
        { target: 'odd-rejection', runId: 'r1', ttlSeconds: 600, batchSize: 1 },
        lambdaContext('stepops-test-ClaimHosts'),
      );

      // Assess: what Step Functions records as the Task's error and cause
      const error = await act.then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({ name: 'Error', message });
      expect((error as Error).stack?.split('\n')[0]).toBe(`Error: ${message}`);
    },
  );
});
