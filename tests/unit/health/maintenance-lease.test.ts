/**
 * recordHealthStep and a maintenance run's lease: the lease mutes the probes it names only while
 * the run's execution (the ARN the lease carries) still runs; a stopped run's leftover lease mutes
 * nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import { FileHealthStore } from '../../../shared/drivers/local/file-health-store.ts';
import type { Lease, Notification } from '../../../shared/drivers/ports.ts';
import { type HealthDeps, recordHealthStep } from '../../../shared/health/check.ts';

const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-maintenance:ml-run-1';

describe('a maintenance lease in the health record', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-maintenance-lease-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  afterEach(() => clearRegisteredTargets());

  /** One failing round of `name` while a maintenance run muting `site` holds its lease. */
  async function roundDuringMaintenance(name: string, alive: boolean | undefined) {
    registerTarget({
      name,
      description: 'a maintenance lease',
      hosts: { type: 'local', directory: root },
      health: {
        schedule: 'rate(1 minute)',
        failureThreshold: 1,
        probes: [{ name: 'site', type: 'http', url: 'https://example.invalid/' }],
      },
    });
    const lease: Lease = {
      key: `target:${name}`,
      owner: 'ml-run-1',
      expiresAt: Date.parse('2026-03-02T11:00:00Z') / 1000,
      maintenance: { job: 'tidy', mute: ['site'], execution: EXECUTION },
    };
    const published: Notification[] = [];
    const asked: string[] = [];
    const none = () => {
      throw new Error('not used');
    };
    const deps: HealthDeps = {
      findTarget,
      hosts: none,
      probes: none,
      store: () => new FileHealthStore({ home: () => root }),
      leases: () => ({ holder: async () => lease }),
      runs: () => ({
        alive: async (id) => {
          asked.push(id);
          return alive;
        },
      }),
      recoveries: none,
      notifier: () => ({ publish: async (n) => void published.push(n) }),
      fallbackNotifier: () => ({ publish: async (n) => void published.push(n) }),
      now: () => Date.parse('2026-03-02T10:00:00Z'),
    };
    await recordHealthStep(
      {
        target: name,
        runId: `health-${name}`,
        at: '2026-03-02T10:00:00.000Z',
        hosts: 1,
        results: [{ probe: 'site', ok: false, detail: 'connection refused' }],
      },
      deps,
    );
    return { published, asked };
  }

  it('asks about the execution the lease names, and mutes the probe while it runs', async () => {
    const { published, asked } = await roundDuringMaintenance('ml-running', true);
    expect(asked).toEqual([EXECUTION]);
    expect(published).toEqual([]);
  });

  it('mutes nothing once the execution was stopped: the probe down alerts', async () => {
    const { published, asked } = await roundDuringMaintenance('ml-stopped', false);
    expect(asked).toEqual([EXECUTION]);
    expect(published).toHaveLength(1);
    expect(JSON.stringify(published[0])).toContain('site');
  });

  it('counts the lease when the liveness is unknown (as before)', async () => {
    const { published } = await roundDuringMaintenance('ml-unknown', undefined);
    expect(published).toEqual([]);
  });
});
