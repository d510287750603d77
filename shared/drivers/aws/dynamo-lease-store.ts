/**
 * DynamoDB lease store: one item per key in the state table (hash key `pk`, string), with the TTL
 * attribute `expiresAt` (epoch seconds) so leases of dead runs disappear on their own.
 *
 * A lease says its run's execution ARN (`execution`, a string) when the run gave it, and a
 * maintenance run's lease also says its job and the probes it mutes (`maintenance`, a map).
 *
 * IAM: `dynamodb:PutItem`, `dynamodb:GetItem`, `dynamodb:DeleteItem` on the table.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Lease, LeaseDetails, LeaseStore } from '../ports.ts';
import { dynamoClient } from './dynamo-client.ts';

/**
 * The partition key of a lease item.
 *
 * @example
 * leaseKey('target:demo') // 'lease#target:demo'
 */
export function leaseKey(key: string): string {
  return `lease#${key}`;
}

function isConditionalCheckFailed(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string }).name === 'ConditionalCheckFailedException'
  );
}

export interface DynamoLeaseStoreOptions {
  client?: DynamoDBClient;
  /** Epoch seconds now; injectable for tests. */
  now?: () => number;
}

/**
 * Leases in DynamoDB with conditional writes: a put succeeds when the key has no lease, its lease
 * has expired (TTL deletion can lag by hours, so expiry is checked in the condition), or the same
 * owner holds it (a retried lock step renews its own lease). Release deletes only the owner's lease.
 *
 * @example
 * const leases = new DynamoLeaseStore('stepops-state');
 * const taken = await leases.acquire('target:datizmo', runId, 3600, { execution: executionArn });
 */
export class DynamoLeaseStore implements LeaseStore {
  readonly #table: string;
  readonly #client: DynamoDBClient;
  readonly #now: () => number;

  constructor(tableName: string, options: DynamoLeaseStoreOptions = {}) {
    this.#table = tableName;
    this.#client = options.client ?? dynamoClient();
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  acquire(
    key: string,
    owner: string,
    ttlSeconds: number,
    details: LeaseDetails = {},
  ): Promise<{ acquired: true } | { acquired: false; heldBy: Lease }> {
    return this.#acquire(key, owner, ttlSeconds, details, 3);
  }

  async #acquire(
    key: string,
    owner: string,
    ttlSeconds: number,
    details: LeaseDetails,
    attempts: number,
  ): Promise<{ acquired: true } | { acquired: false; heldBy: Lease }> {
    const now = this.#now();
    const { execution, maintenance } = details;
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: {
            pk: { S: leaseKey(key) },
            leaseKey: { S: key },
            owner: { S: owner },
            expiresAt: { N: String(now + ttlSeconds) },
            acquiredAt: { S: new Date(now * 1000).toISOString() },
            ...(execution ? { execution: { S: execution } } : {}),
            ...(maintenance
              ? {
                  maintenance: {
                    M: {
                      job: { S: maintenance.job },
                      mute: { L: maintenance.mute.map((p) => ({ S: p })) },
                    },
                  },
                }
              : {}),
          },
          // Expired at `expiresAt` itself, as holder() sees it: a lease holder() no longer reports can be taken.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': { N: String(now) }, ':owner': { S: owner } },
        }),
      );
      return { acquired: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const current = await this.#read(key);
    if (!current && attempts > 1) {
      // Released between the put and the read: try again.
      return this.#acquire(key, owner, ttlSeconds, details, attempts - 1);
    }
    return { acquired: false, heldBy: current ?? { key, owner: 'unknown', expiresAt: 0 } };
  }

  /**
   * The lease on a key if one is held and has not expired (TTL deletion can lag, so expiry is
   * checked here too).
   *
   * @example
   * await leases.holder('target:zmanim'); // { key: 'target:zmanim', owner: 'zmanim-3c1f…', expiresAt: … }
   */
  async holder(key: string): Promise<Lease | undefined> {
    const lease = await this.#read(key);
    return lease && lease.expiresAt > this.#now() ? lease : undefined;
  }

  async #read(key: string): Promise<Lease | undefined> {
    const { Item: item } = await this.#client.send(
      new GetItemCommand({ TableName: this.#table, Key: { pk: { S: leaseKey(key) } }, ConsistentRead: true }),
    );
    if (!item) return undefined;
    const job = item.maintenance?.M?.job?.S;
    const mute = (item.maintenance?.M?.mute?.L ?? []).flatMap((p) => (p.S === undefined ? [] : [p.S]));
    const execution = item.execution?.S;
    return {
      key,
      owner: item.owner?.S ?? 'unknown',
      expiresAt: Number(item.expiresAt?.N ?? 0),
      ...(execution ? { execution } : {}),
      ...(job !== undefined ? { maintenance: { job, mute } } : {}),
    };
  }

  async release(key: string, owner: string): Promise<void> {
    try {
      await this.#client.send(
        new DeleteItemCommand({
          TableName: this.#table,
          Key: { pk: { S: leaseKey(key) } },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': { S: owner } },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}
