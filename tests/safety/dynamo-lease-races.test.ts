/**
 * The DynamoDB lease store's answers to the races a server alone does not stage: a lease released
 * between the refused put and the read (the put is tried again, three times at most), a refusal
 * whose holder cannot be read, and errors that are not a refused condition (passed on, never taken
 * for "held"). DynamoDB answers a failed condition with ConditionalCheckFailedException
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html, Errors).
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoLeaseStore, leaseKey } from '../../shared/drivers/aws/dynamo-lease-store.ts';

type Answer = (command: unknown) => unknown;

function client(answers: { put?: Answer[]; get?: Answer[]; del?: Answer[] }) {
  const sent: string[] = [];
  const next = (list: Answer[] | undefined, command: unknown) => {
    const answer = list?.shift();
    if (!answer) throw new Error('unexpected call');
    return answer(command);
  };
  const fake = {
    send: async (command: unknown) => {
      if (command instanceof PutItemCommand) {
        sent.push('put');
        return next(answers.put, command);
      }
      if (command instanceof GetItemCommand) {
        sent.push('get');
        return next(answers.get, command);
      }
      if (command instanceof DeleteItemCommand) {
        sent.push('delete');
        return next(answers.del, command);
      }
      throw new Error('unexpected command');
    },
  };
  return { client: fake as unknown as DynamoDBClient, sent };
}

const refused = () => {
  throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
};
const refusedByName = () => {
  throw Object.assign(new Error('The conditional request failed'), {
    name: 'ConditionalCheckFailedException',
  });
};
const throttled = () => {
  throw Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
};
const ok = () => ({});
const nothing = () => ({});

describe('DynamoDB lease races', () => {
  it('tries the put again when the lease was released between the refusal and the read', async () => {
    // Prepare
    const { client: c, sent } = client({ put: [refused, ok], get: [nothing] });
    const leases = new DynamoLeaseStore('state', { client: c, now: () => 100 });

    // Act
    const taken = await leases.acquire('target:demo', 'run-2', 60);

    // Assess
    expect(taken).toEqual({ acquired: true });
    expect(sent).toEqual(['put', 'get', 'put']);
  });

  it('gives up after three refusals whose holder vanished each time, saying the holder is unknown', async () => {
    // Prepare
    const { client: c, sent } = client({
      put: [refusedByName, refused, refused],
      get: [nothing, nothing, nothing],
    });
    const leases = new DynamoLeaseStore('state', { client: c, now: () => 100 });

    // Act
    const taken = await leases.acquire('target:demo', 'run-2', 60);

    // Assess
    expect(taken).toEqual({
      acquired: false,
      heldBy: { key: 'target:demo', owner: 'unknown', expiresAt: 0 },
    });
    expect(sent).toEqual(['put', 'get', 'put', 'get', 'put', 'get']);
  });

  it('reports the holder it reads after a refusal, an unnamed owner as unknown', async () => {
    // Prepare
    const { client: c } = client({
      put: [refused, refused],
      get: [
        () => ({ Item: { pk: { S: leaseKey('k') }, owner: { S: 'run-1' }, expiresAt: { N: '500' } } }),
        () => ({ Item: { pk: { S: leaseKey('k') } } }),
      ],
    });
    const leases = new DynamoLeaseStore('state', { client: c, now: () => 100 });

    // Assess
    expect(await leases.acquire('k', 'run-2', 60)).toEqual({
      acquired: false,
      heldBy: { key: 'k', owner: 'run-1', expiresAt: 500 },
    });
    expect(await leases.acquire('k', 'run-2', 60)).toEqual({
      acquired: false,
      heldBy: { key: 'k', owner: 'unknown', expiresAt: 0 },
    });
  });

  it('passes on an error that is not a refused condition, on acquire and on release', async () => {
    // Prepare
    const { client: c } = client({ put: [throttled], del: [throttled] });
    const leases = new DynamoLeaseStore('state', { client: c, now: () => 100 });

    // Assess
    await expect(leases.acquire('k', 'run-1', 60)).rejects.toThrow('Rate exceeded');
    await expect(leases.release('k', 'run-1')).rejects.toThrow('Rate exceeded');
  });

  it('ignores a release refused because another owner holds the lease', async () => {
    // Prepare
    const { client: c, sent } = client({ del: [refused, refusedByName] });
    const leases = new DynamoLeaseStore('state', { client: c, now: () => 100 });

    // Act
    await leases.release('k', 'run-1');
    await leases.release('k', 'run-1');

    // Assess
    expect(sent).toEqual(['delete', 'delete']);
  });

  it('writes the lease item with its key, owner, expiry and start, on the named table', async () => {
    // Prepare
    const inputs: unknown[] = [];
    const { client: c } = client({ put: [(command) => void inputs.push((command as PutItemCommand).input)] });
    const leases = new DynamoLeaseStore('stepops-state', { client: c, now: () => 1_767_225_600 });

    // Act
    await leases.acquire('target:demo', 'run-1', 600);

    // Assess
    expect(inputs).toEqual([
      {
        TableName: 'stepops-state',
        Item: {
          pk: { S: 'lease#target:demo' },
          leaseKey: { S: 'target:demo' },
          owner: { S: 'run-1' },
          expiresAt: { N: '1767226200' },
          acquiredAt: { S: '2026-01-01T00:00:00.000Z' },
        },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR #owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':now': { N: '1767225600' }, ':owner': { S: 'run-1' } },
      },
    ]);
  });
});
