/**
 * When a lease is held, written as a model and checked against both stores (files, and DynamoDB
 * through dynalite, whose server evaluates the conditions): a lease taken at `t` for `ttl` seconds
 * is held while `now < t + ttl` and free from `t + ttl` on (a crashed holder stops holding); while
 * it is held only its owner may take it again; a release by anyone else changes nothing; of
 * owners racing for a free key exactly one wins. Time is injected, never waited for.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLeaseStore } from '../../shared/drivers/aws/dynamo-lease-store.ts';
import { FileLeaseStore } from '../../shared/drivers/local/file-lease-store.ts';
import type { Lease, LeaseStore } from '../../shared/drivers/ports.ts';
import { useStateTables } from './state-table.ts';

type Clock = { now: number };

const dynamo = useStateTables();
let dir: string;
let homes = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stepops-safety-leases-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A store of each kind on fresh state, reading the given clock. */
const stores: Record<string, (clock: Clock) => Promise<LeaseStore>> = {
  file: async (clock) => {
    homes += 1;
    const home = path.join(dir, String(homes));
    return new FileLeaseStore({ home: () => home, now: () => clock.now });
  },
  dynamo: async (clock) =>
    new DynamoLeaseStore(await dynamo.table(), { client: dynamo.client(), now: () => clock.now }),
};

const KEY = 'target:demo';

describe.each(Object.keys(stores))('when a lease is held (%s store)', (kind) => {
  const make = stores[kind]!;

  it('holds a lease until its expiry and no longer: a crashed holder stops holding', async () => {
    // Prepare
    const clock = { now: 1_000 };
    const leases = await make(clock);

    // Act
    expect(await leases.acquire(KEY, 'crashed-run', 60)).toEqual({ acquired: true });

    // Assess
    clock.now = 1_059;
    expect(await leases.holder(KEY)).toEqual({ key: KEY, owner: 'crashed-run', expiresAt: 1_060 });
    expect(await leases.acquire(KEY, 'other-run', 60)).toEqual({
      acquired: false,
      heldBy: { key: KEY, owner: 'crashed-run', expiresAt: 1_060 },
    });
    clock.now = 1_060;
    expect(await leases.holder(KEY)).toBeUndefined();
    expect(await leases.acquire(KEY, 'other-run', 60)).toEqual({ acquired: true });
    expect(await leases.holder(KEY)).toEqual({ key: KEY, owner: 'other-run', expiresAt: 1_120 });
  });

  it('lets the holder renew its own lease, and ignores a release by anyone else', async () => {
    // Prepare
    const clock = { now: 5_000 };
    const leases = await make(clock);
    await leases.acquire(KEY, 'run-1', 100);

    // Act
    clock.now = 5_050;
    const renewed = await leases.acquire(KEY, 'run-1', 100);
    await leases.release(KEY, 'run-2');

    // Assess
    expect(renewed).toEqual({ acquired: true });
    expect(await leases.holder(KEY)).toEqual({ key: KEY, owner: 'run-1', expiresAt: 5_150 });
    await leases.release(KEY, 'run-1');
    expect(await leases.holder(KEY)).toBeUndefined();
    expect(await leases.acquire(KEY, 'run-2', 10)).toEqual({ acquired: true });
  });

  it('gives a free key to exactly one of the owners racing for it', async () => {
    // Prepare
    const clock = { now: 9_000 };
    const leases = await make(clock);
    const owners = ['a', 'b', 'c', 'd', 'e'];

    // Act
    const results = await Promise.all(owners.map((owner) => leases.acquire(KEY, owner, 30)));

    // Assess
    const winners = owners.filter((_, i) => results[i]!.acquired);
    expect(winners).toHaveLength(1);
    expect((await leases.holder(KEY))?.owner).toBe(winners[0]);
    for (const result of results) {
      if (!result.acquired) expect(result.heldBy.owner).toBe(winners[0]);
    }
  });

  it('never has two holders: any sequence of takes, releases and time agrees with the model (property)', async () => {
    // Prepare
    const op = fc.oneof(
      fc.record({
        op: fc.constant('acquire' as const),
        owner: fc.constantFrom('a', 'b', 'c'),
        ttl: fc.integer({ min: 1, max: 50 }),
      }),
      fc.record({ op: fc.constant('release' as const), owner: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ op: fc.constant('wait' as const), seconds: fc.integer({ min: 0, max: 60 }) }),
    );

    // Assess
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const clock = { now: 100_000 };
        const leases = await make(clock);
        let model: Lease | undefined;
        const heldNow = () => (model && clock.now < model.expiresAt ? model : undefined);
        for (const step of ops) {
          if (step.op === 'wait') clock.now += step.seconds;
          else if (step.op === 'release') {
            await leases.release(KEY, step.owner);
            if (model?.owner === step.owner) model = undefined;
          } else {
            const held = heldNow();
            const result = await leases.acquire(KEY, step.owner, step.ttl);
            if (held === undefined || held.owner === step.owner) {
              expect(result).toEqual({ acquired: true });
              model = { key: KEY, owner: step.owner, expiresAt: clock.now + step.ttl };
            } else {
              expect(result).toEqual({ acquired: false, heldBy: held });
            }
          }
          expect(await leases.holder(KEY)).toEqual(heldNow());
        }
      }),
      { numRuns: 25 },
    );
  });
});
