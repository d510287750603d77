/**
 * The load balancer of a target: ELBv2 target groups for `ec2` hosts, the membership file for
 * `local` hosts.
 */
import type { Target } from '../config/schema.ts';
import { ElbLoadBalancer } from './aws/elb-load-balancer.ts';
import { LocalLoadBalancer } from './local/local-load-balancer.ts';
import type { DriversOptions } from './options.ts';
import type { LoadBalancer } from './ports.ts';

/**
 * Chooses the load balancer for a target.
 *
 * @example
 * await loadBalancerFor(target).deregister(target.deploy.loadBalancer.targetGroups[0], hosts);
 */
export function loadBalancerFor(target: Target, _options: DriversOptions = {}): LoadBalancer {
  return target.hosts.type === 'ec2' ? new ElbLoadBalancer() : new LocalLoadBalancer();
}
