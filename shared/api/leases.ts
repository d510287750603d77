/**
 * Reading the deploy lease of a target, so that the API answers 409 instead of starting a run that
 * would only fail at its lock step. The workflow's lock step remains the authority; this is a check.
 */
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { leaseKey as targetLeaseKey } from '../deploy/steps.ts';
import { leaseKey } from '../drivers/aws/dynamo-lease-store.ts';
import type { Lease } from '../drivers/ports.ts';

/** The lease key the deploy workflow takes for a target (`target:<name>`). */
export const deployLeaseKey = targetLeaseKey;

/** Finds who holds a target's lease now. */
export interface LeaseReader {
  /** The lease on the target if one is held and not expired. */
  holder(target: string): Promise<Lease | undefined>;
}

/**
 * Reads leases from the state table as the DynamoDB lease store writes them (`pk` = `leaseKey(key)`,
 * `owner`, `expiresAt` in epoch seconds).
 *
 * @example
 * const leases = new DynamoLeaseReader(new DynamoDBClient({}), Resource.StateTable.name);
 * await leases.holder('zmanim'); // { key: 'target:zmanim', owner: 'zmanim-3c1f…', expiresAt: … }
 */
export class DynamoLeaseReader implements LeaseReader {
  readonly #dynamo: DynamoDBClient;
  readonly #table: string;
  readonly #now: () => number;

  constructor(dynamo: DynamoDBClient, table: string, now: () => number = Date.now) {
    this.#dynamo = dynamo;
    this.#table = table;
    this.#now = now;
  }

  async holder(target: string): Promise<Lease | undefined> {
    const key = deployLeaseKey(target);
    const out = await this.#dynamo.send(
      new GetItemCommand({ TableName: this.#table, Key: { pk: { S: leaseKey(key) } }, ConsistentRead: true }),
    );
    const item = out.Item;
    if (!item) return undefined;
    const expiresAt = Number(item.expiresAt?.N ?? 0);
    if (expiresAt <= Math.floor(this.#now() / 1000)) return undefined;
    return { key, owner: item.owner?.S ?? 'unknown', expiresAt };
  }
}
