/**
 * How the DynamoDB lease store reads a lease item: always with a strongly consistent read (an
 * eventually consistent one may miss a lease written a moment ago, and health would then alert
 * during a deploy), and an item's `maintenance` attribute as written by another client or an older
 * version: a map without a job, or not a map, is no maintenance; a mute list without strings keeps
 * only its strings. A lease's `execution` (the run's execution ARN, which health asks about) is
 * the item's own string attribute: one that is not a string, or is empty, is none. GetItem's `ConsistentRead` and the attribute value shapes:
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html and
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  type PutItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoLeaseStore } from '../../shared/drivers/aws/dynamo-lease-store.ts';

/** A client that answers every GetItem with `item` and keeps the inputs it was sent. */
function reading(item: Record<string, AttributeValue> | undefined) {
  const inputs: GetItemCommandInput[] = [];
  const client = {
    send: async (command: unknown) => {
      if (!(command instanceof GetItemCommand)) throw new Error('unexpected command');
      inputs.push(command.input);
      return item ? { Item: item } : {};
    },
  } as unknown as DynamoDBClient;
  return { leases: new DynamoLeaseStore('stepops-state', { client, now: () => 1_000 }), inputs };
}

const LEASE = { pk: { S: 'lease#target:datizmo' }, owner: { S: 'mt-run-1' }, expiresAt: { N: '1600' } };

describe('DynamoDB lease reads', () => {
  it('reads the lease item by its key with a strongly consistent read, on the named table', async () => {
    // Prepare
    const { leases, inputs } = reading(LEASE);

    // Act
    const lease = await leases.holder('target:datizmo');

    // Assess
    expect(lease).toEqual({ key: 'target:datizmo', owner: 'mt-run-1', expiresAt: 1_600 });
    expect(inputs).toEqual([
      { TableName: 'stepops-state', Key: { pk: { S: 'lease#target:datizmo' } }, ConsistentRead: true },
    ]);
  });

  it.each([
    ['a map without a job', { M: { mute: { L: [{ S: 'tls' }] } } }],
    ['not a map', { S: 'certificates' }],
    ['an empty map', { M: {} }],
  ])('reads a maintenance attribute that is %s as no maintenance', async (_, maintenance) => {
    // Prepare
    const { leases } = reading({ ...LEASE, maintenance });

    // Act
    const lease = await leases.holder('target:datizmo');

    // Assess
    expect(lease).toStrictEqual({ key: 'target:datizmo', owner: 'mt-run-1', expiresAt: 1_600 });
  });

  it.each([
    ['no mute list', {}, []],
    ['a mute list that is not a list', { mute: { S: 'tls' } }, []],
    [
      'a mute list with values that are not strings',
      { mute: { L: [{ S: 'tls' }, { N: '3' }, { NULL: true }] } },
      ['tls'],
    ],
  ])('reads a maintenance job with %s as muting only its strings', async (_, extra, mute) => {
    // Prepare
    const { leases } = reading({ ...LEASE, maintenance: { M: { job: { S: 'certificates' }, ...extra } } });

    // Act
    const lease = await leases.holder('target:datizmo');

    // Assess
    expect(lease).toEqual({
      key: 'target:datizmo',
      owner: 'mt-run-1',
      expiresAt: 1_600,
      maintenance: { job: 'certificates', mute },
    });
  });

  it('reads the execution of a lease, with or without a maintenance, and none when it is not a string or empty', async () => {
    // Prepare
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-deploy:run-1';
    const maintenance = { M: { job: { S: 'certificates' }, mute: { L: [] } } };
    const deploy = reading({ ...LEASE, execution: { S: arn } });
    const maintaining = reading({ ...LEASE, execution: { S: arn }, maintenance });
    const withNumber = reading({ ...LEASE, execution: { N: '7' } });
    const empty = reading({ ...LEASE, execution: { S: '' } });
    const inMaintenance = reading({
      ...LEASE,
      maintenance: { M: { ...maintenance.M, execution: { S: arn } } },
    });

    // Act
    const leases = await Promise.all(
      [deploy, maintaining, withNumber, empty, inMaintenance].map((r) => r.leases.holder('target:datizmo')),
    );

    // Assess: only the lease's own attribute names the execution
    const base = { key: 'target:datizmo', owner: 'mt-run-1', expiresAt: 1_600 };
    expect(leases).toStrictEqual([
      { ...base, execution: arn },
      { ...base, execution: arn, maintenance: { job: 'certificates', mute: [] } },
      base,
      base,
      { ...base, maintenance: { job: 'certificates', mute: [] } },
    ]);
  });

  it("writes the run's execution as the lease's own attribute, a maintenance's job and mute list, and neither when none is given", async () => {
    // Prepare
    const inputs: PutItemCommandInput[] = [];
    const client = {
      send: async (command: unknown) => {
        if (!(command instanceof PutItemCommand)) throw new Error('unexpected command');
        inputs.push(command.input);
        return {};
      },
    } as unknown as DynamoDBClient;
    const leases = new DynamoLeaseStore('stepops-state', { client, now: () => 1_000 });
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-maintenance:mt-run-1';

    // Act
    await leases.acquire('target:datizmo', 'mt-run-1', 600, {
      execution: arn,
      maintenance: { job: 'certificates', mute: ['tls'] },
    });
    await leases.acquire('target:datizmo', 'deploy-2', 600, { execution: arn });
    await leases.acquire('target:datizmo', 'run-3', 600);

    // Assess
    expect(inputs.map((input) => [input.Item?.execution, input.Item?.maintenance])).toStrictEqual([
      [{ S: arn }, { M: { job: { S: 'certificates' }, mute: { L: [{ S: 'tls' }] } } }],
      [{ S: arn }, undefined],
      [undefined, undefined],
    ]);
    expect(Object.keys(inputs[2]?.Item ?? {}).sort()).toEqual([
      'acquiredAt',
      'expiresAt',
      'leaseKey',
      'owner',
      'pk',
    ]);
  });
});
