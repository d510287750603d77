/**
 * ELBv2 load balancer: takes EC2 instances out of ALB/NLB target groups and puts them back
 * (`DeregisterTargets`, `RegisterTargets`) and reads their state (`DescribeTargetHealth`).
 *
 * IAM: `elasticloadbalancing:DeregisterTargets` and `RegisterTargets` on the target groups the
 * targets declare; `elasticloadbalancing:DescribeTargetHealth` (no resource-level permissions).
 */
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  type TargetDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { HostRef, LoadBalancer, TargetHealthResult } from '../ports.ts';
import { elbv2Client } from './elbv2-client.ts';
import { regionOfArn } from './regions.ts';

export interface ElbLoadBalancerOptions {
  /** Client for a region; the cached client by default. */
  client?: (region: string) => ElasticLoadBalancingV2Client;
}

function instanceTargets(hosts: HostRef[]): TargetDescription[] {
  if (hosts.length === 0) throw new Error('a target group change needs at least one host');
  return hosts.map((host) => {
    if (host.kind !== 'ec2') {
      throw new Error(`ELBv2 target groups take ec2 instances, not local host ${host.id}`);
    }
    return { Id: host.id };
  });
}

/**
 * Moves EC2 instances in and out of ELBv2 target groups (instance target type, the group's port).
 *
 * @example
 * const lb = new ElbLoadBalancer();
 * await lb.deregister('arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef', hosts);
 * const states = await lb.health(arn, hosts); // [{ hostId: 'i-…', state: 'draining', reason: 'Target.DeregistrationInProgress' }]
 */
export class ElbLoadBalancer implements LoadBalancer {
  readonly #client: (region: string) => ElasticLoadBalancingV2Client;

  constructor(options: ElbLoadBalancerOptions = {}) {
    this.#client = options.client ?? elbv2Client;
  }

  #clientFor(targetGroup: string): ElasticLoadBalancingV2Client {
    const region = regionOfArn(targetGroup);
    if (!region) throw new Error(`target group "${targetGroup}" is not an ARN with a region`);
    return this.#client(region);
  }

  async deregister(targetGroup: string, hosts: HostRef[]): Promise<void> {
    const Targets = instanceTargets(hosts);
    await this.#clientFor(targetGroup).send(
      new DeregisterTargetsCommand({ TargetGroupArn: targetGroup, Targets }),
    );
  }

  async register(targetGroup: string, hosts: HostRef[]): Promise<void> {
    const Targets = instanceTargets(hosts);
    await this.#clientFor(targetGroup).send(
      new RegisterTargetsCommand({ TargetGroupArn: targetGroup, Targets }),
    );
  }

  async health(targetGroup: string, hosts: HostRef[]): Promise<TargetHealthResult[]> {
    const Targets = instanceTargets(hosts);
    const output = await this.#clientFor(targetGroup).send(
      new DescribeTargetHealthCommand({ TargetGroupArn: targetGroup, Targets }),
    );
    const described = output.TargetHealthDescriptions ?? [];
    return hosts.map((host): TargetHealthResult => {
      // With Targets given, ELBv2 describes each of them, registered or not (`unused`, Target.NotRegistered).
      const found = described.find((d) => d.Target?.Id === host.id);
      const health = found?.TargetHealth;
      if (!health?.State) {
        return {
          targetGroup,
          hostId: host.id,
          state: 'unknown',
          description: 'not in the DescribeTargetHealth answer',
        };
      }
      return {
        targetGroup,
        hostId: host.id,
        state: health.State,
        ...(health.Reason ? { reason: health.Reason } : {}),
        ...(health.Description ? { description: health.Description } : {}),
      };
    });
  }
}
