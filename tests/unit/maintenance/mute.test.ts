/**
 * Muting only what a maintenance job declares: the lease a maintenance run takes says its job and
 * the probes it mutes (in DynamoDB on dynalite, and in the file store), and a health round folded
 * during it alerts every other probe as usual; a muted probe still down when the job ends is
 * alerted then. A deploy or recovery (a lease that says nothing) still mutes every probe.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLeaseStore } from '../../../shared/drivers/aws/dynamo-lease-store.ts';
import { STATE_TABLE } from '../../../shared/drivers/aws/dynamo-tables.ts';
import { FileLeaseStore } from '../../../shared/drivers/local/file-lease-store.ts';
import type { ProbeResult } from '../../../shared/drivers/ports.ts';
import { emptyHealthState, type FoldOptions, foldRound, mutingReason } from '../../../shared/health/state.ts';
import { useDynalite } from '../../helpers/dynalite.ts';

const dynamo = useDynalite();
const KEY = 'target:datizmo';
const JOB = { job: 'certificates', mute: ['tls'] };

let home: string;
beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'stepops-mute-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("a maintenance run's lease says its job and what it mutes", () => {
  it('DynamoDB: written with the lease, read back by holder() and in a refusal', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    const leases = new DynamoLeaseStore(name, { client: dynamo.client(), now: () => 1_000 });

    // Act
    const taken = await leases.acquire(KEY, 'mt-run-1', 600, { maintenance: JOB });
    const refused = await leases.acquire(KEY, 'deploy-1', 600);

    // Assess
    expect(taken).toEqual({ acquired: true });
    expect(await leases.holder(KEY)).toEqual({
      key: KEY,
      owner: 'mt-run-1',
      expiresAt: 1_600,
      maintenance: { job: 'certificates', mute: ['tls'] },
    });
    expect(refused).toEqual({ acquired: false, heldBy: expect.objectContaining({ maintenance: JOB }) });
  });

  it('DynamoDB: a lease taken without one says nothing (a deploy or recovery)', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    const leases = new DynamoLeaseStore(name, { client: dynamo.client(), now: () => 1_000 });

    // Act
    await leases.acquire(KEY, 'deploy-2', 600);

    // Assess
    expect(await leases.holder(KEY)).toEqual({ key: KEY, owner: 'deploy-2', expiresAt: 1_600 });
  });

  it('files: written with the lease and read back; a job that mutes nothing says so', async () => {
    // Prepare
    const leases = new FileLeaseStore({ home: () => home, now: () => 1_000 });

    // Act
    await leases.acquire(KEY, 'mt-run-2', 600, { maintenance: { job: 'updates', mute: [] } });
    const held = await leases.holder(KEY);
    await leases.release(KEY, 'mt-run-2');
    await leases.acquire(KEY, 'deploy-3', 600);

    // Assess
    expect(held).toEqual({
      key: KEY,
      owner: 'mt-run-2',
      expiresAt: 1_600,
      maintenance: { job: 'updates', mute: [] },
    });
    expect(await leases.holder(KEY)).toEqual({ key: KEY, owner: 'deploy-3', expiresAt: 1_600 });
  });
});

describe('health during a maintenance job mutes only the probes the job declares', () => {
  const options = (at: string, maintenance?: FoldOptions['maintenance']): FoldOptions => ({
    now: new Date(at),
    failureThreshold: 1,
    successThreshold: 1,
    conditions: { site: 'GET https://datizmo.com/ → 200', tls: 'certificate valid for 14 days' },
    maintenanceAlertAfterMinutes: 30,
    ...(maintenance ? { maintenance } : {}),
  });
  const down = (probe: string): ProbeResult => ({ probe, ok: false, detail: `${probe} failed` });
  const up = (probe: string): ProbeResult => ({ probe, ok: true, detail: 'ok' });
  const job = { reason: 'run mt-1 (maintenance "certificates" of datizmo, muting tls)', probes: ['tls'] };

  it('alerts a probe the job does not mute, and only records one it does', () => {
    // Act
    const { events } = foldRound(
      emptyHealthState('datizmo'),
      [down('site'), down('tls')],
      options('2026-01-04T04:15:00Z', job),
    );

    // Assess
    expect(events.map((e) => [e.kind, e.probe, e.alert, e.maintenance])).toEqual([
      ['down', 'site', true, undefined],
      ['down', 'tls', false, job.reason],
    ]);
  });

  it('alerts the muted probe when the job ends and it is still down, and does not repeat the other', () => {
    // Prepare
    const during = foldRound(
      emptyHealthState('datizmo'),
      [down('site'), down('tls')],
      options('2026-01-04T04:15:00Z', job),
    );

    // Act
    const { events, state } = foldRound(
      during.state,
      [down('site'), down('tls')],
      options('2026-01-04T04:20:00Z'),
    );

    // Assess
    expect(events.map((e) => [e.kind, e.probe, e.alert])).toEqual([['still-down', 'tls', true]]);
    expect(events[0]?.maintenance).toBe(job.reason);
    expect(state.maintenance).toBeUndefined();
  });

  it('a muted probe back up during the job is not told; the state keeps what the job muted', () => {
    // Prepare
    const during = foldRound(
      emptyHealthState('datizmo'),
      [down('tls')],
      options('2026-01-04T04:15:00Z', job),
    );

    // Act
    const back = foldRound(during.state, [up('tls')], options('2026-01-04T04:16:00Z', job));

    // Assess
    expect(back.events.map((e) => [e.kind, e.alert])).toEqual([['up', false]]);
    expect(back.state.maintenance).toEqual({
      reason: job.reason,
      since: '2026-01-04T04:15:00.000Z',
      probes: ['tls'],
    });
  });

  it('the maintenance bound alerts a muted probe down too long, never twice', () => {
    // Prepare
    const first = foldRound(emptyHealthState('datizmo'), [down('tls')], options('2026-01-04T04:00:00Z', job));

    // Act
    const late = foldRound(first.state, [down('tls')], options('2026-01-04T04:31:00Z', job));
    const ended = foldRound(late.state, [down('tls')], options('2026-01-04T04:32:00Z'));

    // Assess
    expect(late.events.map((e) => [e.kind, e.alert])).toEqual([['down-in-maintenance', true]]);
    expect(ended.events).toEqual([]);
  });

  it('a deploy or recovery (no probes named) still mutes every probe', () => {
    // Act
    const { events } = foldRound(
      emptyHealthState('datizmo'),
      [down('site'), down('tls')],
      options('2026-01-04T04:15:00Z', { reason: 'run deploy-1' }),
    );

    // Assess
    expect(events.map((e) => e.alert)).toEqual([false, false]);
    expect(mutingReason({ reason: 'run deploy-1' }, 'site')).toBe('run deploy-1');
    expect(mutingReason(job, 'site')).toBeUndefined();
    expect(mutingReason({ reason: 'run mt-2', probes: [] }, 'tls')).toBeUndefined();
  });
});
