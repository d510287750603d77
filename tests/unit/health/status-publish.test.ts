import { describe, expect, it } from 'vitest';
import { foldRound, type TargetHealthState } from '../../../shared/health/state.ts';
import { withStatusPublish } from '../../../shared/health/status-publish.ts';

const NOW = new Date('2026-12-06T12:00:00.000Z');
const options = { now: NOW, failureThreshold: 1, successThreshold: 1, conditions: {} };

/** A state where `site` (public) and `disk` on a host were checked up, last published `publishedAgoMs` ago. */
function stateOf(publishedAgoMs?: number): TargetHealthState {
  const up = (probe: string, host?: string) => ({
    probe,
    ...(host ? { host } : {}),
    status: 'up' as const,
    consecutiveFailures: 0,
    consecutiveSuccesses: 3,
    since: '2026-12-06T11:00:00.000Z',
    lastOk: true,
    lastDetail: 'ok',
    lastAt: '2026-12-06T11:59:00.000Z',
    alerted: false,
  });
  return {
    target: 'shop',
    version: 4,
    recoveries: [],
    probes: { site: up('site'), 'site@i-1': up('site', 'i-1'), 'disk@i-1': up('disk', 'i-1') },
    ...(publishedAgoMs !== undefined
      ? { statusPublishedAt: new Date(NOW.getTime() - publishedAgoMs).toISOString() }
      : {}),
  };
}

function decide(
  previous: TargetHealthState,
  results: { probe: string; host?: string; ok: boolean }[],
  publicProbes = ['site'],
) {
  const folded = foldRound(
    previous,
    results.map((r) => ({ ...r, detail: r.ok ? 'ok' : 'failed' })),
    options,
  );
  return withStatusPublish(previous, folded, { publicProbes, now: NOW, everyMs: 300_000 });
}

describe('when the health run publishes the status page', () => {
  it('publishes at once when a public probe goes down, and records the time', () => {
    const folded = decide(stateOf(60_000), [{ probe: 'site', ok: false }]);
    expect(folded.publishStatus).toBe(true);
    expect(folded.state.statusPublishedAt).toBe(NOW.toISOString());
  });

  it('does not publish for a host-side probe of the same name, or another probe, within the interval, and keeps the last time', () => {
    const previous = stateOf(60_000);
    const folded = decide(previous, [
      { probe: 'site', host: 'i-1', ok: false },
      { probe: 'disk', host: 'i-1', ok: false },
      { probe: 'site', ok: true },
    ]);
    expect(folded.events.map((e) => [e.kind, e.probe, e.host])).toEqual([
      ['down', 'site', 'i-1'],
      ['down', 'disk', 'i-1'],
    ]);
    expect(folded.publishStatus).toBe(false);
    expect(folded.state.statusPublishedAt).toBe(previous.statusPublishedAt);
  });

  it('publishes an unchanged page once the interval has passed, not a millisecond before', () => {
    expect(decide(stateOf(300_000), [{ probe: 'site', ok: true }]).publishStatus).toBe(true);
    expect(decide(stateOf(299_999), [{ probe: 'site', ok: true }]).publishStatus).toBe(false);
  });

  it('publishes when never published, and when a public probe is checked for the first time', () => {
    expect(decide(stateOf(), [{ probe: 'site', ok: true }]).publishStatus).toBe(true);
    const fresh = decide(stateOf(60_000), [{ probe: 'checkout', ok: true }], ['site', 'checkout']);
    expect(fresh.publishStatus).toBe(true);
  });

  it('publishes when a public probe comes back up', () => {
    const previous = stateOf(60_000);
    const down = decide(previous, [{ probe: 'site', ok: false }]).state;
    const back = decide({ ...down, statusPublishedAt: previous.statusPublishedAt! }, [
      { probe: 'site', ok: true },
    ]);
    expect(back.events.map((e) => e.kind)).toEqual(['up']);
    expect(back.publishStatus).toBe(true);
  });

  it('never publishes for a target without public probes, and keeps what the state had', () => {
    const previous = stateOf();
    const folded = decide(previous, [{ probe: 'site', ok: false }], []);
    expect(folded.publishStatus).toBe(false);
    expect(folded.state.statusPublishedAt).toBeUndefined();
  });
});
