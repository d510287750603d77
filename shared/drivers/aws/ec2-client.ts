import { EC2Client } from '@aws-sdk/client-ec2';
import { cachedClient } from './regions.ts';

/** The EC2 client for a region (cached; the process's region by default). @example ec2Client('eu-west-1') */
export function ec2Client(region?: string): EC2Client {
  return cachedClient('ec2', region, (r) => new EC2Client({ region: r }));
}
