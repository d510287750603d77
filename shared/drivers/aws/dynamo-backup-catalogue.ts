/**
 * DynamoDB backup catalogue: one item per copy in the backups table, hash key `job`
 * (`<target>#<backup>`), range key `runId`, with `target` and `startedAt` in the global secondary
 * index `byTarget` (every backup of a target, by time). The entry itself is the `entry` attribute
 * (JSON), so that the catalogue's shape can grow without a migration.
 *
 * IAM: `dynamodb:PutItem`, `dynamodb:GetItem`, `dynamodb:Query` on the table and its index.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import type { BackupCatalogue, CatalogueEntry } from '../ports.ts';
import { dynamoClient } from './dynamo-client.ts';
import { BY_TARGET_INDEX } from './dynamo-tables.ts';

export { BY_TARGET_INDEX };

/**
 * The hash key of a backup job's items.
 *
 * @example
 * catalogueJobKey('shop', 'mongodb') // 'shop#mongodb'
 */
export function catalogueJobKey(target: string, backup: string): string {
  return `${target}#${backup}`;
}

function parseItem(item: Record<string, AttributeValue> | undefined): CatalogueEntry | undefined {
  const json = item?.entry?.S;
  return json ? (JSON.parse(json) as CatalogueEntry) : undefined;
}

function itemOf(entry: CatalogueEntry): Record<string, AttributeValue> {
  return {
    job: { S: catalogueJobKey(entry.target, entry.backup) },
    runId: { S: entry.runId },
    target: { S: entry.target },
    startedAt: { S: entry.startedAt },
    outcome: { S: entry.outcome },
    entry: { S: JSON.stringify(entry) },
  };
}

export interface DynamoBackupCatalogueOptions {
  client?: DynamoDBClient;
}

/**
 * The catalogue in AWS.
 *
 * @example
 * const catalogue = new DynamoBackupCatalogue('stepops-prod-backups');
 * await catalogue.put(entry);
 */
export class DynamoBackupCatalogue implements BackupCatalogue {
  readonly #table: string;
  readonly #client: DynamoDBClient;

  constructor(tableName: string, options: DynamoBackupCatalogueOptions = {}) {
    this.#table = tableName;
    this.#client = options.client ?? dynamoClient();
  }

  async put(entry: CatalogueEntry): Promise<void> {
    await this.#client.send(new PutItemCommand({ TableName: this.#table, Item: itemOf(entry) }));
  }

  create(entry: CatalogueEntry): Promise<boolean> {
    // The item of (job, runId) exists when its hash key does.
    return this.#putIf(entry, 'attribute_not_exists(#job)', { '#job': 'job' });
  }

  replaceIf(entry: CatalogueEntry, outcome: CatalogueEntry['outcome']): Promise<boolean> {
    // A missing item has no `outcome`: the comparison is false, so nothing is created either.
    return this.#putIf(
      entry,
      '#outcome = :outcome',
      { '#outcome': 'outcome' },
      { ':outcome': { S: outcome } },
    );
  }

  /** PutItem under a condition; false when DynamoDB answers ConditionalCheckFailedException. */
  async #putIf(
    entry: CatalogueEntry,
    condition: string,
    names: Record<string, string>,
    values?: Record<string, AttributeValue>,
  ): Promise<boolean> {
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: itemOf(entry),
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as { name?: string }).name === 'ConditionalCheckFailedException'
      )
        return false;
      throw error;
    }
  }

  async get(target: string, backup: string, runId: string): Promise<CatalogueEntry | undefined> {
    const output = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { job: { S: catalogueJobKey(target, backup) }, runId: { S: runId } },
        ConsistentRead: true,
      }),
    );
    return parseItem(output.Item);
  }

  async list(target: string, backup?: string): Promise<CatalogueEntry[]> {
    const entries: CatalogueEntry[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const output = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          ...(backup === undefined
            ? {
                IndexName: BY_TARGET_INDEX,
                KeyConditionExpression: '#target = :target',
                ExpressionAttributeNames: { '#target': 'target' },
                ExpressionAttributeValues: { ':target': { S: target } },
                ScanIndexForward: false,
              }
            : {
                KeyConditionExpression: '#job = :job',
                ExpressionAttributeNames: { '#job': 'job' },
                ExpressionAttributeValues: { ':job': { S: catalogueJobKey(target, backup) } },
                ConsistentRead: true,
              }),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of output.Items ?? []) {
        const entry = parseItem(item);
        if (entry) entries.push(entry);
      }
      start = output.LastEvaluatedKey;
    } while (start);
    return entries.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
  }
}
