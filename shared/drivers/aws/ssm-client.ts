import { SSMClient } from '@aws-sdk/client-ssm';
import { cachedClient } from './regions.ts';

/** The SSM client for a region (cached; the process's region by default). @example ssmClient('eu-west-1') */
export function ssmClient(region?: string): SSMClient {
  return cachedClient('ssm', region, (r) => new SSMClient({ region: r }));
}
