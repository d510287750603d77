/**
 * The hosts a run left out of the load balancer, as the alert of a run that ended early names them:
 * which workflows and targets are asked about, which states count as out, an offline agent that
 * must not hide a host, and a read that fails or never answers (the alert still goes, saying so).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findHostsOut,
  type HostsOutDeps,
  hostsOutOf,
  withHostsOut,
} from '../../../shared/alerts/hosts-out.ts';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import type {
  HostDirectory,
  HostRef,
  LoadBalancer,
  Notification,
  TargetHealthResult,
} from '../../../shared/drivers/ports.ts';
import { ec2Target } from '../api/fixtures.ts';

const WEB = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const API = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/fedcba9876543210';
const ref = (id: string): HostRef => ({ kind: 'ec2', id, region: 'eu-west-1' });

beforeAll(() => {
  const base = ec2Target('lb-app');
  registerTarget({
    ...base,
    deploy: { ...base.deploy!, loadBalancer: { targetGroups: [WEB, API] } },
  });
  registerTarget(ec2Target('no-lb'));
  registerTarget({
    name: 'lb-local',
    description: 'local hosts',
    hosts: { type: 'local', directory: ['/tmp/a', '/tmp/b'] },
    deploy: {
      steps: [{ name: 'noop', script: 'true', timeout: 10 }],
      rollback: [{ name: 'noop', script: 'true', timeout: 10 }],
      healthGate: { probes: [], timeout: 10 },
      loadBalancer: { targetGroups: [WEB] },
    },
  });
});
afterAll(() => clearRegisteredTargets());

/** A directory of running hosts: those online, and those whose agent is not. */
function directory(online: string[], offline: string[] = []): HostDirectory & { asked: number } {
  const d = {
    asked: 0,
    async resolve() {
      d.asked += 1;
      return online.map(ref);
    },
    async survey() {
      d.asked += 1;
      return {
        reachable: online.map(ref),
        unreachable: offline.map((id) => ({ host: ref(id), why: 'its SSM agent is ConnectionLost' })),
      };
    },
  };
  return d;
}

/** Target groups with each host's state (`unused` when not listed); every read recorded. */
function groups(states: Record<string, Record<string, string>>): LoadBalancer & { reads: string[][] } {
  const reads: string[][] = [];
  return {
    reads,
    async register() {
      throw new Error('the alert must not register anything');
    },
    async deregister() {
      throw new Error('the alert must not deregister anything');
    },
    async health(group: string, hosts: HostRef[]): Promise<TargetHealthResult[]> {
      reads.push([group, ...hosts.map((h) => h.id)]);
      return hosts.map((h) => ({
        targetGroup: group,
        hostId: h.id,
        state: states[group]?.[h.id] ?? 'unused',
      }));
    },
  };
}

function deps(hosts: HostDirectory, lb: LoadBalancer, extra: Partial<HostsOutDeps> = {}): HostsOutDeps {
  return { findTarget, hosts: () => hosts, loadBalancer: () => lb, ...extra };
}

const alert: Notification = {
  target: 'lb-app',
  workflow: 'recover',
  outcome: 'failed',
  runId: 'lb-app-0123456789abcdef',
  summary:
    'recover of lb-app (run lb-app-0123456789abcdef) was aborted (StopExecution) before it could report',
  error: 'execution ABORTED',
  at: '2026-11-22T03:40:00.000Z',
};

describe('hostsOutOf', () => {
  it('names each host that is not serving in each group, with its state, and not the healthy or registering ones', async () => {
    // Prepare
    const lb = groups({
      [WEB]: { 'i-1': 'healthy', 'i-2': 'draining', 'i-3': 'initial' },
      [API]: { 'i-1': 'healthy', 'i-2': 'healthy', 'i-3': 'unhealthy' },
    });

    // Act
    const out = await hostsOutOf(findTarget('lb-app'), {
      hosts: () => directory(['i-1', 'i-2', 'i-3']),
      loadBalancer: () => lb,
    });

    // Assess
    expect(out).toEqual([
      { host: 'i-2', targetGroup: WEB, state: 'draining' },
      { host: 'i-3', targetGroup: API, state: 'unhealthy' },
    ]);
  });

  it('asks about a host whose SSM agent is offline too: a drained host may be one whose agent stopped', async () => {
    // Prepare
    const lb = groups({ [WEB]: { 'i-1': 'healthy' }, [API]: { 'i-1': 'healthy' } });

    // Act
    const out = await hostsOutOf(findTarget('lb-app'), {
      hosts: () => directory(['i-1'], ['i-9']),
      loadBalancer: () => lb,
    });

    // Assess
    expect(lb.reads).toEqual([
      [WEB, 'i-1', 'i-9'],
      [API, 'i-1', 'i-9'],
    ]);
    expect(out).toEqual([
      { host: 'i-9', targetGroup: WEB, state: 'unused' },
      { host: 'i-9', targetGroup: API, state: 'unused' },
    ]);
  });

  it('asks nothing of the load balancer when the target has no running host', async () => {
    // Prepare
    const lb = groups({});

    // Act
    const out = await hostsOutOf(findTarget('lb-app'), {
      hosts: () => directory([]),
      loadBalancer: () => lb,
    });

    // Assess
    expect(out).toEqual([]);
    expect(lb.reads).toEqual([]);
  });
});

describe('findHostsOut', () => {
  it.each([
    ['a backup (it drains nothing)', { workflow: 'backup' as const }],
    ['a target this bundle does not know', { target: 'retired-app' }],
    ['a target without a target group', { target: 'no-lb' }],
    ['a target on local hosts (not on a stage)', { target: 'lb-local' }],
  ])('asks nothing for %s', async (_case, change) => {
    // Prepare
    const hosts = directory(['i-1']);
    const lb = groups({});

    // Act
    const finding = await findHostsOut({ ...alert, ...change }, deps(hosts, lb));

    // Assess
    expect(finding).toBeUndefined();
    expect(hosts.asked).toBe(0);
    expect(lb.reads).toEqual([]);
  });

  it('finds the hosts out for a deploy and for a runbook', async () => {
    // Prepare
    const lb = groups({ [WEB]: { 'i-1': 'healthy' }, [API]: { 'i-1': 'healthy' } });

    // Act
    const deploy = await findHostsOut({ ...alert, workflow: 'deploy' }, deps(directory(['i-1', 'i-2']), lb));
    const recover = await findHostsOut(alert, deps(directory(['i-1', 'i-2']), lb));

    // Assess
    const expected = {
      hostsOut: [
        { host: 'i-2', targetGroup: WEB, state: 'unused' },
        { host: 'i-2', targetGroup: API, state: 'unused' },
      ],
    };
    expect(deploy).toEqual(expected);
    expect(recover).toEqual(expected);
  });

  it('reports a failed read as a problem instead of throwing (the alert still goes)', async () => {
    // Prepare
    const lb = groups({});
    lb.health = async () => {
      throw Object.assign(new Error('User is not authorized to perform: DescribeTargetHealth'), {
        name: 'AccessDenied',
      });
    };

    // Act
    const finding = await findHostsOut(alert, deps(directory(['i-1']), lb));

    // Assess
    expect(finding).toEqual({ problem: 'User is not authorized to perform: DescribeTargetHealth' });
  });

  it('gives up on a load balancer that does not answer within its time, and says so', async () => {
    // Prepare
    const lb = groups({});
    lb.health = () => new Promise(() => {});

    // Act
    const finding = await findHostsOut(alert, deps(directory(['i-1']), lb, { timeoutMs: 20 }));

    // Assess
    expect(finding).toEqual({ problem: 'the load balancer did not answer within 0.02 s' });
  });
});

describe('withHostsOut', () => {
  it('appends the hosts still out, each with its state and group, and that they were not put back', () => {
    // Act
    const { summary, ...rest } = withHostsOut(alert, {
      hostsOut: [
        { host: 'i-2', targetGroup: WEB, state: 'unused' },
        { host: 'i-3', targetGroup: API, state: 'draining' },
      ],
    });

    // Assess
    expect(summary).toBe(
      `${alert.summary}; still out of the load balancer: i-2 (unused in ${WEB}), i-3 (draining in ${API}): register them back once they are healthy; stepops did not, as a host stopped mid-script may be broken`,
    );
    const { summary: _s, ...before } = alert;
    expect(rest).toEqual(before);
  });

  it('says that every host is in when none is out, and that it could not tell when the read failed', () => {
    // Act
    const none = withHostsOut(alert, { hostsOut: [] }).summary;
    const failed = withHostsOut(alert, { problem: 'AccessDenied' }).summary;

    // Assess
    expect(none).toBe(`${alert.summary}; every host is in the load balancer`);
    expect(failed).toBe(
      `${alert.summary}; could not check which hosts are still out of the load balancer (AccessDenied): look at the target groups`,
    );
  });

  it('leaves the alert as it is when there was nothing to ask', () => {
    // Act & Assess
    expect(withHostsOut(alert, undefined)).toBe(alert);
  });
});
