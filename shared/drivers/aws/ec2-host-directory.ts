/**
 * EC2 host directory: instances by ids or tags, running, with an SSM agent online.
 *
 * IAM: `ec2:DescribeInstances`, `ssm:DescribeInstanceInformation`.
 */
import { DescribeInstancesCommand, type EC2Client, type Filter } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { HostDirectory, HostRef, HostSelector, HostSurvey } from '../ports.ts';
import { ec2Client } from './ec2-client.ts';
import { ssmClient } from './ssm-client.ts';

export interface Ec2HostDirectoryOptions {
  ec2?: (region: string) => EC2Client;
  ssm?: (region: string) => SSMClient;
}

/** DescribeInstanceInformation filters take at most 50 instance ids. */
const SSM_ID_CHUNK = 50;

/**
 * Finds the running instances a selector names and keeps those whose SSM agent is online, in the
 * order EC2 lists them.
 *
 * @example
 * const hosts = await new Ec2HostDirectory().resolve({ type: 'ec2', region: 'eu-west-1', tags: { App: 'shop' } });
 * // [{ kind: 'ec2', id: 'i-0abc…', region: 'eu-west-1' }]
 */
export class Ec2HostDirectory implements HostDirectory {
  readonly #ec2: (region: string) => EC2Client;
  readonly #ssm: (region: string) => SSMClient;

  constructor(options: Ec2HostDirectoryOptions = {}) {
    this.#ec2 = options.ec2 ?? ec2Client;
    this.#ssm = options.ssm ?? ssmClient;
  }

  async resolve(selector: HostSelector): Promise<HostRef[]> {
    return (await this.survey(selector)).reachable;
  }

  /**
   * The running instances with an online agent, and the running ones without: `PingStatus`
   * `ConnectionLost` or `Inactive`, or not registered with Systems Manager at all.
   *
   * @example
   * const { unreachable } = await new Ec2HostDirectory().survey(selector);
   * // [{ host: { kind: 'ec2', id: 'i-0abc…', … }, why: 'its SSM agent is ConnectionLost' }]
   */
  async survey(selector: HostSelector): Promise<HostSurvey> {
    if (selector.type !== 'ec2') throw new Error('the EC2 host directory resolves ec2 hosts only');
    const running = await this.#runningInstances(selector);
    if (running.length === 0) return { reachable: [], unreachable: [] };
    const ping = await this.#pingStatuses(selector.region, running);
    const ref = (id: string): HostRef => ({ kind: 'ec2', id, region: selector.region });
    return {
      reachable: running.filter((id) => ping.get(id) === 'Online').map(ref),
      unreachable: running
        .filter((id) => ping.get(id) !== 'Online')
        .map((id) => ({
          host: ref(id),
          why: ping.has(id)
            ? `its SSM agent is ${ping.get(id)}`
            : 'it is not registered with Systems Manager (no SSM agent reporting)',
        })),
    };
  }

  async #runningInstances(selector: HostSelector & { type: 'ec2' }): Promise<string[]> {
    // Ids go in a filter rather than `InstanceIds`, which fails the whole call on one unknown id.
    const filters: Filter[] =
      'instanceIds' in selector
        ? [{ Name: 'instance-id', Values: selector.instanceIds }]
        : Object.entries(selector.tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));
    filters.push({ Name: 'instance-state-name', Values: ['running'] });
    const client = this.#ec2(selector.region);
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new DescribeInstancesCommand({
          Filters: filters,
          MaxResults: 1000,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (instance.InstanceId) ids.push(instance.InstanceId);
        }
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return ids;
  }

  /** Each instance's `PingStatus` (`Online`, `ConnectionLost`, `Inactive`), for those SSM knows. */
  async #pingStatuses(region: string, ids: string[]): Promise<Map<string, string>> {
    const client = this.#ssm(region);
    const ping = new Map<string, string>();
    for (let i = 0; i < ids.length; i += SSM_ID_CHUNK) {
      const chunk = ids.slice(i, i + SSM_ID_CHUNK);
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new DescribeInstanceInformationCommand({
            Filters: [{ Key: 'InstanceIds', Values: chunk }],
            MaxResults: 50,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
        for (const info of page.InstanceInformationList ?? []) {
          if (info.InstanceId) ping.set(info.InstanceId, info.PingStatus ?? 'unknown');
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
    return ping;
  }
}
