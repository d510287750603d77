import { RDSClient } from '@aws-sdk/client-rds';
import { cachedClient } from './regions.ts';

/** The RDS client for a region (cached; the process's region by default). @example rdsClient('eu-west-1') */
export function rdsClient(region?: string): RDSClient {
  return cachedClient('rds', region, (r) => new RDSClient({ region: r }));
}
