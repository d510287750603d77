/**
 * What the recovery steps need from the outside world, passed in explicitly so that tests can swap
 * one capability (EC2 with a mocked client, bash for the hosts' commands) and keep the rest real.
 * A Lambda wires only the capabilities its step uses ({@link recoveryDepsWith}).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { findTarget } from '../config/registry.ts';
import type { Target } from '../config/schema.ts';
import { MissingCapabilityError } from '../deploy/deps.ts';
import type {
  ApprovalStore,
  CommandRunner,
  DatabaseRestorer,
  HostDirectory,
  InstanceOperations,
  LeaseStore,
  LoadBalancer,
  Notifier,
  ProbeRunner,
  RunLiveness,
  TaskAnswerer,
} from '../drivers/ports.ts';

/** Where signed approval links point and the key they are signed with (AWS runs). */
export interface ApprovalLinkSettings {
  /** The API's base URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com`. */
  baseUrl: string;
  /** The HMAC key (from SSM SecureString; never logged). */
  secret: string;
}

/** Where the newest dump of a backup job is (the backup catalogue). */
export interface DumpLocator {
  newestDump(target: Target, job: string): Promise<{ uri: string; at?: string } | undefined>;
  /**
   * Where a host downloads a dump with curl: a presigned GET URL valid for `expiresInSeconds`
   * (`s3://` dumps), the `file://` URL itself for local ones.
   */
  downloadUrl?(target: Target, uri: string, expiresInSeconds: number): Promise<string>;
}

export interface RecoveryDeps {
  findTarget(name: string): Target;
  commands(target: Target): CommandRunner;
  hosts(target: Target): HostDirectory;
  probes(target: Target): ProbeRunner;
  instances(target: Target): InstanceOperations;
  databases(target: Target): DatabaseRestorer;
  notifier(target: Target): Notifier;
  fallbackNotifier(): Notifier;
  approvals(): ApprovalStore;
  answerer(): TaskAnswerer;
  dumps(target: Target): DumpLocator;
  leases(target: Target): LeaseStore;
  /** The target groups the target's hosts serve in (`deploy.loadBalancer`). */
  loadBalancer(target: Target): LoadBalancer;
  /** Whether a run still runs (a rolling step stops acting once its run was stopped). */
  runs(target: Target): RunLiveness;
  /** Link settings for approval requests; undefined locally (the CLI asks on the terminal). */
  approvalLinks(): Promise<ApprovalLinkSettings | undefined>;
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** A factory per capability; any may be absent (asking for it then throws MissingCapabilityError). */
export type RecoveryFactories = Partial<Omit<RecoveryDeps, 'findTarget' | 'now' | 'sleep'>> &
  Partial<Pick<RecoveryDeps, 'findTarget' | 'now' | 'sleep'>>;

const PER_TARGET = [
  'commands',
  'hosts',
  'probes',
  'instances',
  'databases',
  'notifier',
  'dumps',
  'leases',
  'loadBalancer',
  'runs',
] as const;
const SINGLE = ['fallbackNotifier', 'approvals', 'answerer'] as const;

/**
 * The recovery dependencies with only the given capabilities; each per-target driver is created once
 * per target and reused across invocations.
 *
 * @example
 * const deps = recoveryDepsWith({ instances: () => new Ec2InstanceOperations() });
 */
export function recoveryDepsWith(factories: RecoveryFactories): RecoveryDeps {
  const made = new Map<string, unknown>();
  const perTarget = new Map<string, WeakMap<Target, unknown>>();
  const deps = {
    findTarget: factories.findTarget ?? findTarget,
    now: factories.now ?? Date.now,
    sleep: factories.sleep ?? ((ms: number) => sleep(ms)),
    approvalLinks: factories.approvalLinks ?? (async () => undefined),
  } as RecoveryDeps;
  for (const capability of PER_TARGET) {
    (deps as unknown as Record<string, unknown>)[capability] = (target: Target) => {
      const factory = factories[capability] as ((t: Target) => unknown) | undefined;
      if (!factory) throw new MissingCapabilityError(capability);
      let cache = perTarget.get(capability);
      if (!cache) {
        cache = new WeakMap();
        perTarget.set(capability, cache);
      }
      if (!cache.has(target)) cache.set(target, factory(target));
      return cache.get(target);
    };
  }
  for (const capability of SINGLE) {
    (deps as unknown as Record<string, unknown>)[capability] = () => {
      const factory = factories[capability] as (() => unknown) | undefined;
      if (!factory) throw new MissingCapabilityError(capability);
      if (!made.has(capability)) made.set(capability, factory());
      return made.get(capability);
    };
  }
  return deps;
}
