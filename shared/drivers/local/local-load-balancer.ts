/**
 * Local load balancer: target group membership in a file, so that the local engine runs the same
 * drain and register states as AWS. Hosts drain for a while after they are deregistered and pass
 * their health checks a while after they are registered, as ELBv2 hosts do.
 *
 * ```
 * <stepopsHome()>/load-balancer.json   { "<target group>": { "<host id>": { "state", "until" } } }
 * ```
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HostRef, LoadBalancer, TargetHealthResult } from '../ports.ts';
import { stepopsHome } from './home.ts';

export interface LocalLoadBalancerOptions {
  /** The state directory; {@link stepopsHome} (read at each call) when omitted. */
  home?: () => string;
  /** Milliseconds a deregistered host stays `draining` (the deregistration delay; default 0). */
  drainMs?: number;
  /** Milliseconds a registered host stays `initial` before it is `healthy` (default 0). */
  healthyAfterMs?: number;
  /** Epoch milliseconds (the clock). */
  now?: () => number;
}

interface Member {
  state: 'initial' | 'draining';
  /** Epoch milliseconds at which `initial` turns `healthy`, or `draining` leaves the group. */
  until: number;
}

type Membership = Record<string, Record<string, Member>>;

/**
 * Records target group membership in `load-balancer.json` under the state directory.
 *
 * @example
 * const lb = new LocalLoadBalancer({ drainMs: 1000 });
 * await lb.deregister(arn, hosts);
 * await lb.health(arn, hosts); // [{ state: 'draining', reason: 'Target.DeregistrationInProgress', … }]
 */
export class LocalLoadBalancer implements LoadBalancer {
  readonly #home: () => string;
  readonly #drainMs: number;
  readonly #healthyAfterMs: number;
  readonly #now: () => number;

  constructor(options: LocalLoadBalancerOptions = {}) {
    this.#home = options.home ?? stepopsHome;
    this.#drainMs = options.drainMs ?? 0;
    this.#healthyAfterMs = options.healthyAfterMs ?? 0;
    this.#now = options.now ?? Date.now;
  }

  #file(): string {
    return path.join(this.#home(), 'load-balancer.json');
  }

  async #read(): Promise<Membership> {
    try {
      return JSON.parse(await readFile(this.#file(), 'utf8')) as Membership;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
  }

  async #write(membership: Membership): Promise<void> {
    const file = this.#file();
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, `${JSON.stringify(membership, null, 2)}\n`);
    await rename(`${file}.tmp`, file);
  }

  async deregister(targetGroup: string, hosts: HostRef[]): Promise<void> {
    const membership = await this.#read();
    const group = membership[targetGroup] ?? {};
    const until = this.#now() + this.#drainMs;
    for (const host of hosts) {
      if (group[host.id] && group[host.id]?.state !== 'draining')
        group[host.id] = { state: 'draining', until };
    }
    membership[targetGroup] = group;
    await this.#write(membership);
  }

  async register(targetGroup: string, hosts: HostRef[]): Promise<void> {
    const membership = await this.#read();
    const group = membership[targetGroup] ?? {};
    const until = this.#now() + this.#healthyAfterMs;
    for (const host of hosts) group[host.id] = { state: 'initial', until };
    membership[targetGroup] = group;
    await this.#write(membership);
  }

  async health(targetGroup: string, hosts: HostRef[]): Promise<TargetHealthResult[]> {
    const group = (await this.#read())[targetGroup] ?? {};
    const now = this.#now();
    return hosts.map((host): TargetHealthResult => {
      const member = group[host.id];
      const base = { targetGroup, hostId: host.id };
      if (!member || (member.state === 'draining' && now >= member.until)) {
        return { ...base, state: 'unused', reason: 'Target.NotRegistered' };
      }
      if (member.state === 'draining') {
        return { ...base, state: 'draining', reason: 'Target.DeregistrationInProgress' };
      }
      return now >= member.until
        ? { ...base, state: 'healthy' }
        : { ...base, state: 'initial', reason: 'Elb.InitialHealthChecking' };
    });
  }
}
