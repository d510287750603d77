/**
 * What a health alert says, written out: where (probe and host), what failed and since when, how
 * long a probe was down, what became of the recovery runbook; and how it is classed (a recovery
 * succeeds, anything else fails).
 */
import { describe, expect, it } from 'vitest';
import { healthNotification, healthSummary } from '../../shared/health/alerts.ts';
import type { HealthEvent } from '../../shared/health/state.ts';

const base: HealthEvent = {
  kind: 'down',
  probe: 'site',
  detail: 'expected status 200, got 503',
  condition: 'GET https://x/ → status 200',
  since: '2026-03-02T10:00:00.000Z',
  consecutiveFailures: 3,
  alert: true,
};

describe('health alerts', () => {
  it('says what is down, on which host, since when and how many checks in a row', () => {
    expect(healthSummary('zmanim', { ...base, host: 'i-0abc' })).toBe(
      'zmanim: site on i-0abc is down: expected status 200, got 503 (condition: GET https://x/ → status 200; failing since 2026-03-02T10:00:00.000Z, 3 checks in a row)',
    );
  });

  it('says a probe is still down after the maintenance it outlived', () => {
    expect(healthSummary('zmanim', { ...base, kind: 'still-down', maintenance: 'deploy r-1' })).toBe(
      'zmanim: site is still down after deploy r-1 ended: expected status 200, got 503 (condition: GET https://x/ → status 200; failing since 2026-03-02T10:00:00.000Z)',
    );
    expect(healthSummary('zmanim', { ...base, kind: 'still-down' })).toContain(
      'still down after the maintenance ended',
    );
  });

  it('says how long a recovered probe was down, and nothing of a runbook', () => {
    expect(
      healthSummary(
        'zmanim',
        { ...base, kind: 'up', detail: '200 in 12 ms', downForMs: 252_000 },
        {
          runbook: 'restart-api',
          started: true,
        },
      ),
    ).toBe('zmanim: site is up again after 4 min 12 s down: 200 in 12 ms');
    expect(healthSummary('zmanim', { ...base, kind: 'up', detail: 'ok' })).toBe(
      'zmanim: site is up again after 0 s down: ok',
    );
  });

  it('says whether the recovery runbook started, and why not', () => {
    expect(healthSummary('t', base, { runbook: 'restart-api', started: true, executionId: 'arn:x' })).toMatch(
      /; started recovery runbook restart-api \(arn:x\)$/,
    );
    expect(healthSummary('t', base, { runbook: 'restart-api', started: true })).toMatch(
      /; started recovery runbook restart-api$/,
    );
    expect(healthSummary('t', base, { runbook: 'restart-api', started: false, why: 'cooldown' })).toMatch(
      /; recovery runbook restart-api not started: cooldown$/,
    );
    expect(healthSummary('t', base, { runbook: 'restart-api', started: false })).toMatch(
      /; recovery runbook restart-api not started: no reason given$/,
    );
  });

  it('classes a recovery as succeeded and a failure as failed, naming the probe and the host', () => {
    // Prepare
    const now = new Date('2026-03-02T10:05:00Z');

    // Act
    const down = healthNotification('zmanim', { ...base, host: 'i-1' }, 'health-1', now);
    const up = healthNotification(
      'zmanim',
      { ...base, kind: 'up', detail: 'ok', downForMs: 1000 },
      'health-2',
      now,
    );

    // Assess
    expect(down).toEqual({
      target: 'zmanim',
      workflow: 'health',
      outcome: 'failed',
      runId: 'health-1',
      summary: healthSummary('zmanim', { ...base, host: 'i-1' }),
      failedState: 'site',
      error: 'site down',
      cause:
        'condition: GET https://x/ → status 200; observed: expected status 200, got 503; since 2026-03-02T10:00:00.000Z',
      host: 'i-1',
      at: '2026-03-02T10:05:00.000Z',
    });
    expect(up).toMatchObject({ outcome: 'succeeded', error: 'site recovered', runId: 'health-2' });
    expect(up).not.toHaveProperty('host');
  });
});
