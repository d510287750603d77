import { SNSClient } from '@aws-sdk/client-sns';
import { cachedClient } from './regions.ts';

/** The SNS client for a region (cached; the process's region by default). @example snsClient('eu-west-1') */
export function snsClient(region?: string): SNSClient {
  return cachedClient('sns', region, (r) => new SNSClient({ region: r }));
}
