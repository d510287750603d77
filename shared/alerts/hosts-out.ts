/**
 * Hosts a run left out of the load balancer. A deploy or a runbook drains each batch from the
 * target's target groups and registers it back once healthy; a run that ends where no step can
 * act (an abort, its TimeoutSeconds, a `States.*` failure) leaves the batch it was working on out.
 * The alert for such a run names those hosts, as the target groups report them when it is sent.
 *
 * They are named, not registered back: a host drained in the middle of its script may be broken,
 * and putting it back would send it traffic. Whoever reads the alert registers it back once it is
 * healthy.
 */
import type { Target } from '../config/schema.ts';
import { hostSelector } from '../drivers/options.ts';
import type { HostDirectory, HostRef, LoadBalancer, Notification, WorkflowName } from '../drivers/ports.ts';

/** The workflows that drain hosts from the load balancer: deploy batches and runbook steps. */
export const DRAINING_WORKFLOWS: readonly WorkflowName[] = ['deploy', 'recover'];

/** How long the alert waits for the load balancer's answer before it goes out without it. */
export const HOSTS_OUT_TIMEOUT_MS = 10_000;

/** States in which a host serves (or is about to, once its first checks pass). */
const SERVING = new Set(['healthy', 'initial']);

/** One host out of one target group, as ELBv2 reports it. */
export interface HostOut {
  host: string;
  targetGroup: string;
  /** `unused` (not registered), `draining`, `unhealthy`, `unavailable`, … */
  state: string;
}

/** What the load balancer says of the target's hosts: those out, none out, or why it could not tell. */
export type HostsOutFinding = { hostsOut: HostOut[] } | { problem: string };

/** What {@link findHostsOut} reads. */
export interface HostsOutDeps {
  /** The target of that name (throws when there is none). */
  findTarget(name: string): Target;
  hosts(target: Target): HostDirectory;
  loadBalancer(target: Target): LoadBalancer;
  /** Milliseconds to wait for the answers; {@link HOSTS_OUT_TIMEOUT_MS} by default. */
  timeoutMs?: number;
}

/** Every running host of the target: those that take commands and those whose agent is not online. */
async function runningHosts(target: Target, directory: HostDirectory): Promise<HostRef[]> {
  const selector = hostSelector(target);
  if (!directory.survey) return directory.resolve(selector);
  const { reachable, unreachable } = await directory.survey(selector);
  return [...reachable, ...unreachable.map((u) => u.host)];
}

/**
 * The hosts of a target that are out of one of its target groups now (deregistered, draining,
 * unhealthy), in the order of the groups and hosts. An agent that stopped answering does not hide
 * a host: every running instance the target selects is asked about.
 *
 * @example
 * await hostsOutOf(target, deps) // [{ host: 'i-0abc…', targetGroup: 'arn:…:targetgroup/web/…', state: 'unused' }]
 */
export async function hostsOutOf(
  target: Target,
  deps: Pick<HostsOutDeps, 'hosts' | 'loadBalancer'>,
): Promise<HostOut[]> {
  const groups = target.deploy?.loadBalancer?.targetGroups ?? [];
  if (groups.length === 0) return [];
  const hosts = await runningHosts(target, deps.hosts(target));
  if (hosts.length === 0) return [];
  const lb = deps.loadBalancer(target);
  const health = (await Promise.all(groups.map((group) => lb.health(group, hosts)))).flat();
  return health
    .filter((h) => !SERVING.has(h.state))
    .map((h) => ({ host: h.hostId, targetGroup: h.targetGroup, state: h.state }));
}

/** Rejects after `ms` milliseconds (its timer cleared once `work` settles). */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What the load balancer says of the hosts of the alert's target, or undefined when there is
 * nothing to ask: a workflow that drains nothing, a target this bundle does not know, one on local
 * hosts or with no target group. A failed or slow read is a finding too (the alert says so).
 *
 * @example
 * await findHostsOut(notification, deps) // { hostsOut: [{ host: 'i-0abc…', targetGroup: 'arn:…', state: 'unused' }] }
 */
export async function findHostsOut(
  notification: Pick<Notification, 'target' | 'workflow'>,
  deps: HostsOutDeps,
): Promise<HostsOutFinding | undefined> {
  if (!DRAINING_WORKFLOWS.includes(notification.workflow)) return undefined;
  let target: Target;
  try {
    target = deps.findTarget(notification.target);
  } catch {
    return undefined;
  }
  if (target.hosts.type !== 'ec2' || !target.deploy?.loadBalancer?.targetGroups.length) return undefined;
  try {
    const hostsOut = await within(
      hostsOutOf(target, deps),
      deps.timeoutMs ?? HOSTS_OUT_TIMEOUT_MS,
      'the load balancer',
    );
    return { hostsOut };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

/**
 * The alert with what the load balancer says appended to its summary: the hosts still out (to
 * register back once healthy), that none is, or that it could not be read.
 *
 * @example
 * withHostsOut(notification, { hostsOut: [{ host: 'i-0abc', targetGroup: 'arn:…/web/…', state: 'unused' }] }).summary
 * // '… ; still out of the load balancer: i-0abc (unused in arn:…/web/…): register them back once they are healthy; stepops did not, as a host stopped mid-script may be broken'
 */
export function withHostsOut(notification: Notification, finding: HostsOutFinding | undefined): Notification {
  if (!finding) return notification;
  let note: string;
  if ('problem' in finding) {
    note = `could not check which hosts are still out of the load balancer (${finding.problem}): look at the target groups`;
  } else if (finding.hostsOut.length === 0) {
    note = 'every host is in the load balancer';
  } else {
    const listed = finding.hostsOut.map((h) => `${h.host} (${h.state} in ${h.targetGroup})`).join(', ');
    note = `still out of the load balancer: ${listed}: register them back once they are healthy; stepops did not, as a host stopped mid-script may be broken`;
  }
  return { ...notification, summary: `${notification.summary}; ${note}` };
}
