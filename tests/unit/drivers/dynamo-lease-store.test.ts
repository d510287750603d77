/**
 * DynamoLeaseStore against a DynamoDB-compatible server (dynalite): the conditions of acquire,
 * renew, takeover and release are evaluated by the server, on the state table's real key schema.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoLeaseStore, leaseKey } from '../../../shared/drivers/aws/dynamo-lease-store.ts';
import { STATE_TABLE } from '../../../shared/drivers/aws/dynamo-tables.ts';
import { useDynalite } from '../../helpers/dynalite.ts';

const dynamo = useDynalite();
const KEY = 'target:demo';

/** A store whose clock the test sets. */
function storeAt(table: string, clock: { now: number }): DynamoLeaseStore {
  return new DynamoLeaseStore(table, { client: dynamo.client(), now: () => clock.now });
}

describe('DynamoLeaseStore on dynalite', () => {
  it('takes a free key and stores the expiry in the table’s TTL attribute, in epoch seconds', async () => {
    // Prepare
    const { name, ttl } = await dynamo.table(STATE_TABLE);
    const leases = storeAt(name, { now: 1_000 });

    // Act
    const taken = await leases.acquire(KEY, 'run-1', 600);

    // Assess
    expect(taken).toEqual({ acquired: true });
    expect(await leases.holder(KEY)).toEqual({ key: KEY, owner: 'run-1', expiresAt: 1_600 });
    const { Item: item } = await dynamo
      .client()
      .send(new GetItemCommand({ TableName: name, Key: { pk: { S: leaseKey(KEY) } } }));
    expect(ttl).toBe('expiresAt');
    expect(item?.[ttl as string]).toEqual({ N: '1600' });
  });

  it("keeps the run's execution ARN with its lease, and a maintenance run's job and muted probes (the key unchanged)", async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    const leases = storeAt(name, { now: 1_000 });
    const execution = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-maintenance:run-1';
    const deploy = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-deploy:run-2';

    // Act
    await leases.acquire(KEY, 'run-1', 600, { execution, maintenance: { job: 'tidy', mute: ['app'] } });
    const maintenance = await leases.holder(KEY);
    await leases.release(KEY, 'run-1');
    await leases.acquire(KEY, 'run-2', 600, { execution: deploy });

    // Assess
    expect(maintenance).toEqual({
      key: KEY,
      owner: 'run-1',
      expiresAt: 1_600,
      execution,
      maintenance: { job: 'tidy', mute: ['app'] },
    });
    expect(await leases.holder(KEY)).toEqual({
      key: KEY,
      owner: 'run-2',
      expiresAt: 1_600,
      execution: deploy,
    });
  });

  it('keeps the execution when its holder renews the lease with it', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    const clock = { now: 1_000 };
    const execution = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-deploy:run-1';
    await storeAt(name, clock).acquire(KEY, 'run-1', 600, { execution });
    clock.now = 1_500;

    // Act
    const held = await storeAt(name, clock).holder(KEY);
    const renewed = await storeAt(name, clock).acquire(KEY, 'run-1', 600, { execution: held?.execution });

    // Assess
    expect(renewed).toEqual({ acquired: true });
    expect(await storeAt(name, clock).holder(KEY)).toEqual({
      key: KEY,
      owner: 'run-1',
      expiresAt: 2_100,
      execution,
    });
  });

  it('gives a key to exactly one of many holders racing for it', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    const clock = { now: 1_000 };
    const owners = Array.from({ length: 12 }, (_, i) => `run-${i}`);

    // Act
    const results = await Promise.all(owners.map((owner) => storeAt(name, clock).acquire(KEY, owner, 600)));

    // Assess
    const winners = owners.filter((_, i) => results[i]?.acquired);
    expect(winners).toHaveLength(1);
    for (const result of results) {
      if (!result.acquired) expect(result.heldBy).toEqual({ key: KEY, owner: winners[0], expiresAt: 1_600 });
    }
    expect((await storeAt(name, clock).holder(KEY))?.owner).toBe(winners[0]);
  });

  it('refuses a live lease to another owner and renews it for its own', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    const clock = { now: 1_000 };
    await storeAt(name, clock).acquire(KEY, 'run-1', 600);
    clock.now = 1_599;

    // Act
    const other = await storeAt(name, clock).acquire(KEY, 'run-2', 600);
    const renewed = await storeAt(name, clock).acquire(KEY, 'run-1', 600);

    // Assess
    expect(other).toEqual({ acquired: false, heldBy: { key: KEY, owner: 'run-1', expiresAt: 1_600 } });
    expect(renewed).toEqual({ acquired: true });
    expect(await storeAt(name, clock).holder(KEY)).toEqual({ key: KEY, owner: 'run-1', expiresAt: 2_199 });
  });

  it('lets another owner take over a lease the moment holder() stops reporting it', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    const clock = { now: 1_000 };
    await storeAt(name, clock).acquire(KEY, 'run-1', 600);
    clock.now = 1_600;

    // Act
    const before = await storeAt(name, clock).holder(KEY);
    const taken = await storeAt(name, clock).acquire(KEY, 'run-2', 600);

    // Assess: a lease that no longer holds the key can be taken, at its very expiry too
    expect(before).toBeUndefined();
    expect(taken).toEqual({ acquired: true });
    expect(await storeAt(name, clock).holder(KEY)).toEqual({ key: KEY, owner: 'run-2', expiresAt: 2_200 });
  });

  it('gives an expired lease to exactly one of the owners racing to take it over', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    const clock = { now: 1_000 };
    await storeAt(name, clock).acquire(KEY, 'run-dead', 60);
    clock.now = 5_000;
    const owners = Array.from({ length: 8 }, (_, i) => `run-${i}`);

    // Act
    const results = await Promise.all(owners.map((owner) => storeAt(name, clock).acquire(KEY, owner, 600)));

    // Assess
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
  });

  it('refuses a release by anyone but the holder, and frees the key for its holder', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    const clock = { now: 1_000 };
    const leases = storeAt(name, clock);
    await leases.acquire(KEY, 'run-1', 600);

    // Act
    await leases.release(KEY, 'run-2');
    const afterForeignRelease = await leases.holder(KEY);
    await leases.release(KEY, 'run-1');
    const afterOwnRelease = await leases.holder(KEY);
    const next = await leases.acquire(KEY, 'run-2', 600);

    // Assess
    expect(afterForeignRelease?.owner).toBe('run-1');
    expect(afterOwnRelease).toBeUndefined();
    expect(next).toEqual({ acquired: true });
  });

  it('does not let a run whose lease was taken over release or renew its successor’s', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    const clock = { now: 1_000 };
    await storeAt(name, clock).acquire(KEY, 'run-1', 60);
    clock.now = 2_000;
    await storeAt(name, clock).acquire(KEY, 'run-2', 600);

    // Act
    await storeAt(name, clock).release(KEY, 'run-1');
    const renewal = await storeAt(name, clock).acquire(KEY, 'run-1', 600);

    // Assess
    expect(renewal).toEqual({ acquired: false, heldBy: { key: KEY, owner: 'run-2', expiresAt: 2_600 } });
    expect((await storeAt(name, clock).holder(KEY))?.owner).toBe('run-2');
  });

  it('reads a lease written by another client in the same shape (owner, expiresAt as a number)', async () => {
    // Prepare: an item as another stepops version would have written it
    const { name } = await dynamo.table(STATE_TABLE);
    await dynamo.client().send(
      new PutItemCommand({
        TableName: name,
        Item: { pk: { S: leaseKey(KEY) }, owner: { S: 'run-9' }, expiresAt: { N: '3000' } },
      }),
    );

    // Act
    const result = await storeAt(name, { now: 1_000 }).acquire(KEY, 'run-1', 600);

    // Assess
    expect(result).toEqual({ acquired: false, heldBy: { key: KEY, owner: 'run-9', expiresAt: 3_000 } });
  });

  it('fails loudly when the table does not exist, instead of reporting the key as held', async () => {
    const leases = storeAt('stepops-no-such-table', { now: 1_000 });
    await expect(leases.acquire(KEY, 'run-1', 600)).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});
