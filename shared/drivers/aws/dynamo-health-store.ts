/**
 * DynamoDB health state store: one item per target in the state table (`pk` = `health#<target>`),
 * written with a condition on its version, so two overlapping runs never overwrite each other's
 * transition: the one that loses reads the new state and folds its results again.
 *
 * IAM: `dynamodb:GetItem`, `dynamodb:PutItem` on the table.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { HealthRecord, HealthStateStore } from '../ports.ts';
import { dynamoClient } from './clients.ts';

/**
 * The partition key of a target's health item.
 *
 * @example
 * healthKey('zmanim') // 'health#zmanim'
 */
export function healthKey(target: string): string {
  return `health#${target}`;
}

function isConditionalCheckFailed(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (typeof error === 'object' &&
      error !== null &&
      (error as { name?: unknown }).name === 'ConditionalCheckFailedException')
  );
}

/**
 * Health states in DynamoDB with conditional writes.
 *
 * @example
 * const store = new DynamoHealthStore('stepops-state');
 * const written = await store.write('zmanim', JSON.stringify(state), 41); // false if another run wrote 42 first
 */
export class DynamoHealthStore implements HealthStateStore {
  readonly #table: string;
  readonly #client: DynamoDBClient;
  readonly #now: () => Date;

  constructor(tableName: string, options: { client?: DynamoDBClient; now?: () => Date } = {}) {
    this.#table = tableName;
    this.#client = options.client ?? dynamoClient();
    this.#now = options.now ?? (() => new Date());
  }

  async read(target: string): Promise<HealthRecord | undefined> {
    const { Item: item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { pk: { S: healthKey(target) } },
        ConsistentRead: true,
      }),
    );
    if (!item?.body?.S) return undefined;
    return { version: Number(item.version?.N ?? 0), body: item.body.S };
  }

  async write(target: string, body: string, expectedVersion: number): Promise<boolean> {
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: {
            pk: { S: healthKey(target) },
            target: { S: target },
            version: { N: String(expectedVersion + 1) },
            body: { S: body },
            updatedAt: { S: this.#now().toISOString() },
          },
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
