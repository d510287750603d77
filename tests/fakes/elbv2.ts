/**
 * A stateful Elastic Load Balancing v2 (target groups of instances) on aws-sdk-client-mock,
 * answering as the ELBv2 API reference documents:
 *
 * - `DeregisterTargets`: "The load balancer stops sending requests to targets that are
 *   deregistered"; the target is `draining` (reason `Target.DeregistrationInProgress`) until the
 *   deregistration delay passes, then `unused` (`Target.NotRegistered`): here after
 *   {@link Elbv2Switches.drainingReads} reads that see it.
 * - `RegisterTargets`: the target is `initial` (`Elb.RegistrationInProgress`, then
 *   `Elb.InitialHealthChecking`: "the load balancer is still sending the target the minimum number of
 *   health checks required to determine its health status") for {@link Elbv2Switches.initialReads}
 *   reads, then `healthy`, or `unhealthy` (`Target.FailedHealthChecks`) when the test says its
 *   health checks fail ({@link FakeElbv2.failing}).
 * - `DescribeTargetHealth` (TargetHealth, API reference): with `Targets`, one description per target
 *   asked, registered or not (`unused`, `Target.NotRegistered`); without, the registered targets.
 * - A group that does not exist answers `TargetGroupNotFound` ("The specified target group does not
 *   exist", 400) on every call.
 *
 * Time passes with reads: each DescribeTargetHealth that sees a target moves it on.
 */
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { answer, awsError, CallLog, type Input } from './common.ts';

/** One target of a group as the fake holds it. */
export interface FakeTarget {
  state: 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused';
  /** Reads left before `initial` or `draining` moves on. */
  readsLeft: number;
}

export interface Elbv2Switches {
  /** Reads that see a deregistered target `draining` (default 1). */
  drainingReads: number;
  /** Reads that see a registered target `initial` (default 1). */
  initialReads: number;
}

export interface FakeElbv2 {
  mock: AwsClientStub<ElasticLoadBalancingV2Client>;
  /** Target groups by ARN, each its targets by instance id. */
  groups: Map<string, Map<string, FakeTarget>>;
  /** Instances whose health checks fail: registered, they become `unhealthy`. */
  failing: Set<string>;
  switches: Elbv2Switches;
  /** Adds a target group with these instances registered and healthy. */
  addGroup(arn: string, instanceIds: readonly string[]): void;
  restore(): void;
}

const REASONS: Record<FakeTarget['state'], string | undefined> = {
  initial: 'Elb.InitialHealthChecking',
  healthy: undefined,
  unhealthy: 'Target.FailedHealthChecks',
  draining: 'Target.DeregistrationInProgress',
  unused: 'Target.NotRegistered',
};

/**
 * Installs the ELBv2 fake.
 *
 * @example
 * const elbv2 = fakeElbv2(log);
 * elbv2.addGroup('arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef', ['i-1']);
 */
export function fakeElbv2(log: CallLog = new CallLog(), switches: Partial<Elbv2Switches> = {}): FakeElbv2 {
  const mock = mockClient(ElasticLoadBalancingV2Client);
  const groups = new Map<string, Map<string, FakeTarget>>();
  const failing = new Set<string>();
  const sw: Elbv2Switches = { drainingReads: 1, initialReads: 1, ...switches };

  const groupOf = (arn: string): Map<string, FakeTarget> => {
    const group = groups.get(arn);
    if (!group) {
      throw awsError('TargetGroupNotFound', `One or more target groups not found: '${arn}'`, { status: 400 });
    }
    return group;
  };
  const settled = (id: string): FakeTarget['state'] => (failing.has(id) ? 'unhealthy' : 'healthy');

  mock.on(DeregisterTargetsCommand).callsFake(
    answer(log, 'elbv2:DeregisterTargets', (input: Input) => {
      const group = groupOf(input.TargetGroupArn);
      for (const { Id } of input.Targets as { Id: string }[]) {
        const target = group.get(Id);
        if (target && target.state !== 'unused') {
          group.set(
            Id,
            sw.drainingReads > 0
              ? { state: 'draining', readsLeft: sw.drainingReads }
              : { state: 'unused', readsLeft: 0 },
          );
        }
      }
      return {};
    }),
  );

  mock.on(RegisterTargetsCommand).callsFake(
    answer(log, 'elbv2:RegisterTargets', (input: Input) => {
      const group = groupOf(input.TargetGroupArn);
      for (const { Id } of input.Targets as { Id: string }[]) {
        const target = group.get(Id);
        // Registering a registered target changes nothing.
        if (!target || target.state === 'unused' || target.state === 'draining') {
          group.set(
            Id,
            sw.initialReads > 0
              ? { state: 'initial', readsLeft: sw.initialReads }
              : { state: settled(Id), readsLeft: 0 },
          );
        }
      }
      return {};
    }),
  );

  mock.on(DescribeTargetHealthCommand).callsFake(
    answer(log, 'elbv2:DescribeTargetHealth', (input: Input) => {
      const group = groupOf(input.TargetGroupArn);
      const ids: string[] = input.Targets?.length
        ? (input.Targets as { Id: string }[]).map((t) => t.Id)
        : [...group].filter(([, t]) => t.state !== 'unused').map(([id]) => id);
      return {
        TargetHealthDescriptions: ids.map((Id) => {
          const target = group.get(Id) ?? { state: 'unused' as const, readsLeft: 0 };
          const seen = target.state;
          if (target.state === 'initial' || target.state === 'draining') {
            target.readsLeft -= 1;
            if (target.readsLeft <= 0) target.state = target.state === 'initial' ? settled(Id) : 'unused';
          }
          const reason = REASONS[seen];
          return {
            Target: { Id, Port: 80 },
            TargetHealth: { State: seen, ...(reason ? { Reason: reason } : {}) },
          };
        }),
      };
    }),
  );

  return {
    mock,
    groups,
    failing,
    switches: sw,
    addGroup(arn, instanceIds) {
      groups.set(arn, new Map(instanceIds.map((id) => [id, { state: 'healthy', readsLeft: 0 }])));
    },
    restore: () => mock.restore(),
  };
}
