/**
 * DynamoHealthStore against a DynamoDB-compatible server (dynalite): the version conditions that
 * keep two overlapping health runs from overwriting each other's transition are evaluated for real.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoHealthStore, healthKey } from '../../../shared/drivers/aws/dynamo-health-store.ts';
import { STATE_TABLE } from '../../../shared/drivers/aws/dynamo-tables.ts';
import { useDynalite } from '../../helpers/dynalite.ts';

const dynamo = useDynalite();
const NOW = new Date('2026-03-01T02:00:00Z');

function store(table: string): DynamoHealthStore {
  return new DynamoHealthStore(table, { client: dynamo.client(), now: () => NOW });
}

describe('DynamoHealthStore on dynalite', () => {
  it('reads nothing for a target never written', async () => {
    const { name } = await dynamo.table(STATE_TABLE);
    expect(await store(name).read('zmanim')).toBeUndefined();
  });

  it('creates the first state at version 1, once', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);

    // Act
    const first = await store(name).write('zmanim', '{"a":1}', 0);
    const again = await store(name).write('zmanim', '{"a":"other"}', 0);

    // Assess
    expect([first, again]).toEqual([true, false]);
    expect(await store(name).read('zmanim')).toEqual({ version: 1, body: '{"a":1}' });
  });

  it('replaces a state only at the version it read', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    await store(name).write('zmanim', '{"v":1}', 0);

    // Act
    const current = await store(name).write('zmanim', '{"v":2}', 1);
    const stale = await store(name).write('zmanim', '{"stale":true}', 1);
    const ahead = await store(name).write('zmanim', '{"ahead":true}', 5);

    // Assess
    expect([current, stale, ahead]).toEqual([true, false, false]);
    expect(await store(name).read('zmanim')).toEqual({ version: 2, body: '{"v":2}' });
  });

  it('refuses a versioned write when the item is gone, instead of creating it', async () => {
    const { name } = await dynamo.table(STATE_TABLE);
    expect(await store(name).write('zmanim', '{"v":8}', 7)).toBe(false);
    expect(await store(name).read('zmanim')).toBeUndefined();
  });

  it('lets exactly one of several runs that read the same version write', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    await store(name).write('zmanim', '{"v":1}', 0);

    // Act
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store(name).write('zmanim', `{"run":${i}}`, 1)),
    );

    // Assess
    const winner = results.indexOf(true);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store(name).read('zmanim')).toEqual({ version: 2, body: `{"run":${winner}}` });
  });

  it('keeps each target in its own item', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);

    // Act
    await store(name).write('zmanim', '{"t":"zmanim"}', 0);
    await store(name).write('shop', '{"t":"shop"}', 0);

    // Assess
    expect(await store(name).read('shop')).toEqual({ version: 1, body: '{"t":"shop"}' });
    const { Item: item } = await dynamo
      .client()
      .send(new GetItemCommand({ TableName: name, Key: { pk: { S: healthKey('zmanim') } } }));
    expect(item).toMatchObject({ target: { S: 'zmanim' }, updatedAt: { S: NOW.toISOString() } });
  });
});
