/**
 * Alerts of many targets grouped into one message through the shared batch in the file health
 * store: 50 targets alerting together make one message; an alert alone is sent as it is; a batch
 * whose opener died is taken over; alerts for different destinations are not mixed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileHealthStore } from '../../../shared/drivers/local/file-health-store.ts';
import type { Notification } from '../../../shared/drivers/ports.ts';
import { alertBatchKey, publishGrouped } from '../../../shared/health/storm.ts';

const WINDOW = 10_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');

function alert(target: string): Notification {
  return {
    target,
    workflow: 'health',
    outcome: 'failed',
    runId: `health-${target}-1`,
    summary: `${target}: site is down: expected status 200, got 503`,
    at: new Date(T0).toISOString(),
  };
}

describe('publishGrouped', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-storm-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function setUp(name: string) {
    const store = new FileHealthStore({ home: () => path.join(root, name) });
    const published: Notification[] = [];
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const sleep = (ms: number) =>
      ms === WINDOW ? gate : new Promise<void>((resolve) => setTimeout(resolve, ms));
    const options = (runId: string, destination = 'topic-a') => ({
      store,
      notifier: { publish: async (n: Notification) => void published.push(n) },
      runId,
      destination,
      windowMs: WINDOW,
      now: () => T0,
      sleep,
    });
    return { store, published, openGate, options };
  }

  it('makes one message of 50 targets alerting together', async () => {
    // Prepare
    const { published, openGate, options } = setUp('fifty');
    let handedOver = 0;

    // Act: 50 runs at once; the window closes once the 49 others have handed their alert over
    const runs = Array.from({ length: 50 }, (_, i) =>
      publishGrouped(alert(`t${i}`), options(`run-${i}`)).then((r) => {
        if (!r.opened) {
          handedOver += 1;
          if (handedOver === 49) openGate();
        }
        return r;
      }),
    );
    const results = await Promise.all(runs);

    // Assess
    expect(results.filter((r) => r.opened)).toEqual([{ opened: true, published: 50 }]);
    expect(published).toHaveLength(1);
    expect(published[0]?.summary).toMatch(/^50 targets changed health \(50 failing\): /);
    expect(published[0]?.cause?.split('\n').sort()).toEqual(
      Array.from({ length: 50 }, (_, i) => `- t${i}: site is down: expected status 200, got 503`).sort(),
    );
  });

  it('sends an alert alone as it is, and does not mix destinations', async () => {
    // Prepare
    const { published, openGate, options } = setUp('alone');
    openGate();

    // Act
    await Promise.all([
      publishGrouped(alert('a'), options('run-a', 'topic-a')),
      publishGrouped(alert('b'), options('run-b', 'topic-b')),
    ]);

    // Assess
    expect(published.map((n) => n.summary).sort()).toEqual([
      'a: site is down: expected status 200, got 503',
      'b: site is down: expected status 200, got 503',
    ]);
  });

  it('takes over a batch whose opener died, with its alerts', async () => {
    // Prepare: a batch opened long ago by a run that never claimed it
    const { store, published, openGate, options } = setUp('dead');
    const key = alertBatchKey('topic-a');
    await store.write(
      key,
      JSON.stringify({
        openedAt: T0 - 5 * WINDOW,
        opener: 'dead-run',
        claimed: false,
        items: [alert('lost')],
      }),
      0,
    );
    openGate();

    // Act
    const result = await publishGrouped(alert('next'), options('run-next'));

    // Assess
    expect(result).toEqual({ opened: true, published: 2 });
    expect(published[0]?.cause).toContain('- lost: site is down');
    expect(published[0]?.cause).toContain('- next: site is down');
  });
});
