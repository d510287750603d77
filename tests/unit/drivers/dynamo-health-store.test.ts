/**
 * DynamoHealthStore against a DynamoDB-compatible server (dynalite): the version conditions that
 * keep two overlapping health runs from overwriting each other's transition are evaluated for real.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  DynamoHealthStore,
  dynamoItemBytes,
  healthItem,
  healthKey,
} from '../../../shared/drivers/aws/dynamo-health-store.ts';
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

  it('stores the state compressed in a binary attribute and reads it back whole', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    const body = JSON.stringify(tenProbeState());

    // Act
    await store(name).write('zmanim', body, 0);

    // Assess
    const { Item: item } = await dynamo
      .client()
      .send(new GetItemCommand({ TableName: name, Key: { pk: { S: healthKey('zmanim') } } }));
    expect(item?.state?.B).toBeInstanceOf(Uint8Array);
    expect(item?.state?.B?.byteLength).toBeLessThan(Buffer.byteLength(body) / 4);
    expect(await store(name).read('zmanim')).toEqual({ version: 1, body });
  });

  it('reads a state written before compression, as a plain body string', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    await dynamo.client().send(
      new PutItemCommand({
        TableName: name,
        Item: {
          pk: { S: healthKey('shop') },
          target: { S: 'shop' },
          version: { N: '4' },
          body: { S: '{"old":true}' },
        },
      }),
    );

    // Act
    const read = await store(name).read('shop');
    const replaced = await store(name).write('shop', '{"new":true}', 4);

    // Assess
    expect(read).toEqual({ version: 4, body: '{"old":true}' });
    expect(replaced).toBe(true);
    expect(await store(name).read('shop')).toEqual({ version: 5, body: '{"new":true}' });
  });
});

/** A realistic state of ten HTTP probes after a few rounds, as the health fold writes it. */
function tenProbeState(): object {
  const probes: Record<string, object> = {};
  for (let i = 1; i <= 10; i++) {
    probes[`endpoint-${i}`] = {
      probe: `endpoint-${i}`,
      status: 'up',
      consecutiveFailures: 0,
      consecutiveSuccesses: 40 + i,
      since: `2026-03-01T01:${String(10 + i).padStart(2, '0')}:01.504Z`,
      lastOk: true,
      lastDetail: `200 in ${120 + i * 7} ms`,
      lastAt: `2026-03-01T01:59:0${i % 10}.${100 + i * 13}Z`,
      alerted: false,
      recent: '+++++++++++',
    };
  }
  const today = Object.fromEntries(
    Object.keys(probes).map((key, i) => [
      key,
      { n: 120, ok: 119 - (i % 2), lat: [0, 0, 0, 31 + i, 80 - i, 9, 0, 0, 0, 0, 0] },
    ]),
  );
  return {
    target: 'zmanim',
    version: 120,
    probes,
    recoveries: [],
    runs: Array.from({ length: 10 }, (_, i) => ({ runId: `zmanim-health-2026-03-01T01-5${i}`, events: [] })),
    today: { day: '2026-03-01', probes: today },
    updatedAt: '2026-03-01T01:59:09.000Z',
  };
}

describe('health state item size', () => {
  it('counts names and values as DynamoDB does: strings and binaries by bytes, numbers by significant digits', () => {
    expect(dynamoItemBytes({ pk: { S: 'health#a' }, version: { N: '12' } })).toBe(2 + 8 + 7 + 2);
    expect(dynamoItemBytes({ n: { N: '1200' } })).toBe(1 + 2);
    expect(dynamoItemBytes({ n: { N: '-0.00123' } })).toBe(1 + 3);
    expect(dynamoItemBytes({ b: { B: new Uint8Array(300) } })).toBe(301);
    expect(dynamoItemBytes({ s: { S: 'é' } })).toBe(3);
  });

  it('keeps ten probes within one write unit (1 KB), where the JSON alone would take four', () => {
    const body = JSON.stringify(tenProbeState());
    expect(Buffer.byteLength(body)).toBeGreaterThan(3 * 1024);
    expect(dynamoItemBytes(healthItem('zmanim', body, 121, NOW))).toBeLessThanOrEqual(1024);
  });
});
