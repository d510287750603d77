/**
 * DynamoDB health history: one item per target and finished day in the state table
 * (`pk` = `healthday#<target>#<YYYY-MM-DD>`), removed by the table's TTL on `expiresAt` 90 days
 * after the day. One PutItem a target a day; reading is one GetItem per day asked for.
 *
 * IAM: `dynamodb:PutItem` (the check-target Lambda), `dynamodb:GetItem` (the CLI) on the state table.
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { HEALTH_HISTORY_DAYS, type HealthHistoryStore } from '../ports.ts';
import { dynamoClient } from './dynamo-client.ts';

/**
 * The partition key of a target's day.
 *
 * @example
 * healthDayKey('zmanim', '2026-03-02') // 'healthday#zmanim#2026-03-02'
 */
export function healthDayKey(target: string, day: string): string {
  return `healthday#${target}#${day}`;
}

/**
 * The epoch second DynamoDB's TTL may remove a day's item: 90 days after the day ends. (TTL
 * deletes expired items within a few days, not at once: readers ask only for the days they want.)
 *
 * @example
 * historyExpiresAt('2026-03-02') // 1780617600
 */
export function historyExpiresAt(day: string): number {
  return Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000) + (HEALTH_HISTORY_DAYS + 1) * 86_400;
}

/**
 * Health history in the state table.
 *
 * @example
 * await new DynamoHealthHistory('stepops-prod-state').writeDay('zmanim', '2026-03-02', body);
 */
export class DynamoHealthHistory implements HealthHistoryStore {
  readonly #table: string;
  readonly #client: DynamoDBClient;

  constructor(tableName: string, options: { client?: DynamoDBClient } = {}) {
    this.#table = tableName;
    this.#client = options.client ?? dynamoClient();
  }

  async writeDay(target: string, day: string, body: string): Promise<void> {
    await this.#client.send(
      new PutItemCommand({
        TableName: this.#table,
        Item: {
          pk: { S: healthDayKey(target, day) },
          target: { S: target },
          body: { S: body },
          expiresAt: { N: String(historyExpiresAt(day)) },
        },
      }),
    );
  }

  async readDays(target: string, days: readonly string[]): Promise<Record<string, string>> {
    const found: Record<string, string> = {};
    await Promise.all(
      days.map(async (day) => {
        const { Item: item } = await this.#client.send(
          new GetItemCommand({ TableName: this.#table, Key: { pk: { S: healthDayKey(target, day) } } }),
        );
        if (item?.body?.S) found[day] = item.body.S;
      }),
    );
    return found;
  }
}
