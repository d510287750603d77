import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { cachedClient } from './regions.ts';

/** The ELBv2 (ALB/NLB) client for a region (cached; the process's region by default). @example elbv2Client('eu-west-1') */
export function elbv2Client(region?: string): ElasticLoadBalancingV2Client {
  return cachedClient('elbv2', region, (r) => new ElasticLoadBalancingV2Client({ region: r }));
}
