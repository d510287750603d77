import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { cachedClient } from './regions.ts';

/** The DynamoDB client for a region (cached; the process's region by default). @example dynamoClient('eu-west-1') */
export function dynamoClient(region?: string): DynamoDBClient {
  return cachedClient('dynamodb', region, (r) => new DynamoDBClient({ region: r }));
}
