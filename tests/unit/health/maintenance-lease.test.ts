/**
 * recordHealthStep and a target's lease: a lease mutes (a deploy's or a recovery's every probe, a
 * maintenance run's the probes it names) only while the run's execution, the ARN the lease carries,
 * still runs; a stopped run's leftover lease mutes nothing. Liveness as on a stage: Step Functions
 * `DescribeExecution` of that ARN (the SFN fake), so a lease whose owner is a run id, not an ARN, is
 * judged by its execution.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import { SfnRunLiveness } from '../../../shared/drivers/aws/sfn-run-liveness.ts';
import { FileHealthStore } from '../../../shared/drivers/local/file-health-store.ts';
import type { Lease, Notification } from '../../../shared/drivers/ports.ts';
import { type HealthDeps, recordHealthStep } from '../../../shared/health/check.ts';
import { CallLog } from '../../fakes/common.ts';
import { type FakeExecutionStatus, type FakeSfn, fakeSfn } from '../../fakes/sfn.ts';

const MAINTENANCE = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-maintenance:ml-run-1';
const DEPLOY = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-deploy:dp-run-1';

describe('a target lease in the health record, its run asked of Step Functions', () => {
  let root: string;
  let log: CallLog;
  let sfn: FakeSfn;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-maintenance-lease-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  afterEach(() => {
    clearRegisteredTargets();
    sfn.restore();
  });

  /** One failing round of `name` while `lease` holds its key and its execution is `status`. */
  async function roundDuring(name: string, lease: Omit<Lease, 'key'>, status?: FakeExecutionStatus) {
    log = new CallLog();
    sfn = fakeSfn(log);
    if (lease.execution && status) sfn.executions.set(lease.execution, status);
    registerTarget({
      name,
      description: 'a held lease',
      hosts: { type: 'local', directory: root },
      health: {
        schedule: 'rate(1 minute)',
        failureThreshold: 1,
        probes: [{ name: 'site', type: 'http', url: 'https://example.invalid/' }],
      },
    });
    const published: Notification[] = [];
    const none = () => {
      throw new Error('not used');
    };
    const deps: HealthDeps = {
      findTarget,
      hosts: none,
      probes: none,
      store: () => new FileHealthStore({ home: () => root }),
      leases: () => ({ holder: async () => ({ key: `target:${name}`, ...lease }) }),
      runs: () => new SfnRunLiveness(),
      recoveries: none,
      notifier: () => ({ publish: async (n) => void published.push(n) }),
      fallbackNotifier: () => ({ publish: async (n) => void published.push(n) }),
      now: () => Date.parse('2026-03-02T10:00:00Z'),
    };
    const summary = await recordHealthStep(
      {
        target: name,
        runId: `health-${name}`,
        at: '2026-03-02T10:00:00.000Z',
        hosts: 1,
        results: [{ probe: 'site', ok: false, detail: 'connection refused' }],
      },
      deps,
    );
    return { published, summary, asked: log.of('states:DescribeExecution') };
  }

  const expiresAt = Date.parse('2026-03-02T11:00:00Z') / 1000;
  const maintenance: Omit<Lease, 'key'> = {
    owner: 'ml-run-1',
    expiresAt,
    execution: MAINTENANCE,
    maintenance: { job: 'tidy', mute: ['site'] },
  };
  const deploy: Omit<Lease, 'key'> = { owner: 'dp-run-1', expiresAt, execution: DEPLOY };

  it('asks about the execution a maintenance lease names, and mutes the probe while it runs', async () => {
    const { published, asked, summary } = await roundDuring('ml-running', maintenance, 'RUNNING');
    expect(asked).toEqual([{ executionArn: MAINTENANCE }]);
    expect(published).toEqual([]);
    expect(summary.maintenance).toBe('run ml-run-1 (maintenance "tidy" of ml-running, muting site)');
  });

  it('mutes nothing once the maintenance execution was stopped: the probe down alerts', async () => {
    const { published, asked, summary } = await roundDuring('ml-stopped', maintenance, 'ABORTED');
    expect(asked).toEqual([{ executionArn: MAINTENANCE }]);
    expect(summary.maintenance).toBeUndefined();
    expect(published).toHaveLength(1);
    expect(JSON.stringify(published[0])).toContain('site');
  });

  it("asks about the execution a deploy's lease names (its owner is a run id), and mutes every probe while it runs", async () => {
    const { published, asked, summary } = await roundDuring('dp-running', deploy, 'RUNNING');
    expect(asked).toEqual([{ executionArn: DEPLOY }]);
    expect(published).toEqual([]);
    expect(summary.maintenance).toBe('run dp-run-1 (a deploy, recovery or maintenance of dp-running)');
  });

  it.each<FakeExecutionStatus>(['ABORTED', 'FAILED', 'SUCCEEDED', 'TIMED_OUT'])(
    "mutes nothing once the deploy's execution is %s: the probe down alerts",
    async (status) => {
      const { published, asked, summary } = await roundDuring(
        `dp-${status.toLowerCase().replace('_', '-')}`,
        deploy,
        status,
      );
      expect(asked).toEqual([{ executionArn: DEPLOY }]);
      expect(summary.maintenance).toBeUndefined();
      expect(published).toHaveLength(1);
      expect(JSON.stringify(published[0])).toContain('site');
    },
  );

  it('counts the lease when Step Functions does not know the execution (as before)', async () => {
    const { published, asked } = await roundDuring('dp-unknown', deploy);
    expect(asked).toEqual([{ executionArn: DEPLOY }]);
    expect(published).toEqual([]);
  });

  it('counts a lease without an execution (its owner, a run id, is unknown on a stage) without asking', async () => {
    const { published, asked } = await roundDuring('dp-no-execution', { owner: 'dp-run-1', expiresAt });
    expect(asked).toEqual([]);
    expect(published).toEqual([]);
  });
});
