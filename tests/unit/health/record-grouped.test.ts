/**
 * recordHealthStep with alert grouping on (as in Lambda): the rounds of several targets that go
 * down together make one message, through the shared batch of the state store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import { FileHealthStore } from '../../../shared/drivers/local/file-health-store.ts';
import type { Notification } from '../../../shared/drivers/ports.ts';
import { type HealthDeps, recordHealthStep } from '../../../shared/health/check.ts';

const WINDOW = 5_000;

describe('recordHealthStep with alert grouping', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-record-grouped-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  afterEach(() => clearRegisteredTargets());

  it('sends one message for three targets that go down in the same window', async () => {
    // Prepare
    const names = ['g-one', 'g-two', 'g-three'];
    for (const name of names) {
      registerTarget({
        name,
        description: 'grouped alerts',
        hosts: { type: 'local', directory: root },
        health: {
          schedule: 'rate(1 minute)',
          failureThreshold: 1,
          probes: [{ name: 'site', type: 'http', url: 'https://example.invalid/' }],
        },
      });
    }
    const published: Notification[] = [];
    const store = new FileHealthStore({ home: () => root });
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const none = () => {
      throw new Error('not used');
    };
    const deps: HealthDeps = {
      findTarget,
      hosts: none,
      probes: none,
      store: () => store,
      leases: () => ({ holder: async () => undefined }),
      recoveries: none,
      notifier: () => ({ publish: async (n) => void published.push(n) }),
      fallbackNotifier: none,
      now: () => Date.parse('2026-03-02T10:00:00Z'),
      alertWindowMs: WINDOW,
      sleep: (ms) => (ms === WINDOW ? gate : new Promise((resolve) => setTimeout(resolve, ms))),
    };

    // Act: the first to alert waits for the window; it closes once the two others have handed over
    let done = 0;
    const runs = names.map((name) =>
      recordHealthStep(
        {
          target: name,
          runId: `run-${name}`,
          at: '2026-03-02T10:00:00.000Z',
          hosts: 1,
          results: [{ probe: 'site', ok: false, detail: 'connection refused' }],
        },
        deps,
      ).then((summary) => {
        done += 1;
        if (done === names.length - 1) openGate();
        return summary;
      }),
    );
    const summaries = await Promise.all(runs);

    // Assess
    expect(summaries.map((s) => s.down)).toEqual([1, 1, 1]);
    expect(published).toHaveLength(1);
    expect(published[0]?.summary).toMatch(/^3 targets changed health \(3 failing\): /);
    for (const name of names)
      expect(published[0]?.cause).toContain(`- ${name}: site is down: connection refused`);
  });
});
