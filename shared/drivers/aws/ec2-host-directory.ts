/**
 * EC2 host directory: instances by ids or tags, running, with an SSM agent online.
 *
 * IAM: `ec2:DescribeInstances`, `ssm:DescribeInstanceInformation`.
 */
import { DescribeInstancesCommand, type EC2Client, type Filter } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { HostDirectory, HostRef, HostSelector } from '../ports.ts';
import { ec2Client, ssmClient } from './clients.ts';

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
    if (selector.type !== 'ec2') throw new Error('the EC2 host directory resolves ec2 hosts only');
    const running = await this.#runningInstances(selector);
    if (running.length === 0) return [];
    const online = await this.#onlineInstances(selector.region, running);
    return running
      .filter((id) => online.has(id))
      .map((id): HostRef => ({ kind: 'ec2', id, region: selector.region }));
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

  async #onlineInstances(region: string, ids: string[]): Promise<Set<string>> {
    const client = this.#ssm(region);
    const online = new Set<string>();
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
          if (info.InstanceId && info.PingStatus === 'Online') online.add(info.InstanceId);
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
    return online;
  }
}
