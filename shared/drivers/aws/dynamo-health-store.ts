/**
 * DynamoDB health state store: one item per target in the state table (`pk` = `health#<target>`),
 * written with a condition on its version, so two overlapping runs never overwrite each other's
 * transition: the one that loses reads the new state and folds its results again.
 *
 * The state is read and written every round, and on-demand DynamoDB bills a write unit per KB of
 * the item (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html),
 * so it is stored brotli-compressed in a binary attribute, whose raw byte length is what counts
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * ten probes' state of about 3.7 KB of JSON takes about 0.4 KB, one write unit instead of four.
 * Items written before as a plain `body` string are still read.
 *
 * IAM: `dynamodb:GetItem`, `dynamodb:PutItem` on the table.
 */

import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { HealthRecord, HealthStateStore } from '../ports.ts';
import { dynamoClient } from './dynamo-client.ts';

/**
 * The partition key of a target's health item.
 *
 * @example
 * healthKey('zmanim') // 'health#zmanim'
 */
export function healthKey(target: string): string {
  return `health#${target}`;
}

/**
 * The state body as stored: brotli at its highest quality (a few milliseconds for a few KB).
 *
 * @example
 * decodeHealthBody(encodeHealthBody('{"target":"zmanim"}')) // '{"target":"zmanim"}'
 */
export function encodeHealthBody(body: string): Uint8Array {
  return brotliCompressSync(Buffer.from(body, 'utf8'), {
    params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY },
  });
}

/** The state body from its stored bytes (see {@link encodeHealthBody}). */
export function decodeHealthBody(stored: Uint8Array): string {
  return brotliDecompressSync(stored).toString('utf8');
}

/**
 * The item a write stores, as DynamoDB receives it.
 *
 * @example
 * healthItem('zmanim', '{}', 1, new Date()).version // { N: '1' }
 */
export function healthItem(
  target: string,
  body: string,
  version: number,
  now: Date,
): Record<string, AttributeValue> {
  return {
    pk: { S: healthKey(target) },
    target: { S: target },
    version: { N: String(version) },
    state: { B: encodeHealthBody(body) },
    updatedAt: { S: now.toISOString() },
  };
}

/**
 * An item's size as DynamoDB counts it for request units: each attribute's name plus its value
 * (UTF-8 bytes of a string, raw bytes of a binary, about one byte per two significant digits plus
 * one of a number), per "DynamoDB item sizes and formats".
 *
 * @example
 * dynamoItemBytes({ pk: { S: 'health#a' }, version: { N: '12' } }) // 2 + 8 + 7 + 2 = 19
 */
export function dynamoItemBytes(item: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S);
    else if (value.B !== undefined) bytes += value.B.byteLength;
    else if (value.N !== undefined) {
      const digits = value.N.replace(/e.*$/i, '')
        .replace(/[-+.]/g, '')
        .replace(/^0+|0+$/g, '');
      bytes += Math.ceil(Math.max(digits.length, 1) / 2) + 1;
    } else throw new Error(`dynamoItemBytes: attribute ${name} has a type this store does not write`);
  }
  return bytes;
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
    const body = item?.state?.B ? decodeHealthBody(item.state.B) : item?.body?.S;
    if (!body) return undefined;
    return { version: Number(item?.version?.N ?? 0), body };
  }

  async write(target: string, body: string, expectedVersion: number): Promise<boolean> {
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: healthItem(target, body, expectedVersion + 1, this.#now()),
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
