/**
 * What the deploy steps need from the outside world, passed in explicitly so that tests can swap a
 * single capability (a host directory that finds nothing, a notifier that fails) and keep the rest
 * real.
 *
 * A Lambda wires only the capabilities its step uses, with {@link deployDepsWith} and the factories
 * of `shared/drivers/<capability>.ts`, so that its bundle holds only those adapters (poll-command:
 * the command runners, not EC2, DynamoDB or SNS). {@link defaultDeployDeps} wires all of them, for
 * the CLI and tests (a bundle that does not call it drops it, and with it the other adapters).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { driversFor } from '../all-drivers.ts';
import { findTarget } from '../config/registry.ts';
import type { Target } from '../config/schema.ts';
import type { Drivers } from '../drivers/index.ts';
import { fallbackNotifierFor } from '../drivers/notifier.ts';
import type { Notifier } from '../drivers/ports.ts';

export interface DeployDeps {
  /** The validated target of a name; throws `UnknownTargetError` or `ConfigError`. */
  findTarget(name: string): Target;
  /** The adapters for a target. */
  driversFor(target: Target): Drivers;
  /** Where a notification goes when its target is unknown (bad input): the stack topic or the outbox. */
  fallbackNotifier(): Notifier;
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** A factory per capability, as exported by `shared/drivers/<capability>.ts`; any may be absent. */
export type DriverFactories = {
  [K in keyof Drivers]?: (target: Target) => Drivers[K];
} & {
  /** The notifier for unknown targets (`fallbackNotifierFor` of `shared/drivers/notifier.ts`). */
  fallbackNotifier?: () => Notifier;
};

/** A step asked for a capability its handler was not given. */
export class MissingCapabilityError extends Error {
  readonly capability: string;

  constructor(capability: string) {
    super(
      `this handler was not given the "${capability}" driver capability: pass its factory to deployDepsWith({ ${capability}: … })`,
    );
    this.name = 'MissingCapabilityError';
    this.capability = capability;
  }
}

const CAPABILITIES = [
  'commands',
  'hosts',
  'snapshots',
  'notifier',
  'leases',
  'probes',
  'loadBalancer',
] as const;

/**
 * The real dependencies with only the given capabilities: the target registry, the drivers made by
 * the factories (each created once per target, when a step first uses it, and reused across
 * invocations), the real clock. A capability without a factory throws {@link MissingCapabilityError}
 * when a step asks for it.
 *
 * @example
 * import { commandRunnerFor } from '../../shared/drivers/commands.ts';
 * const deps = deployDepsWith({ commands: commandRunnerFor });
 * const status = await pollCommandStep(input, deps, () => context.getRemainingTimeInMillis());
 */
export function deployDepsWith(factories: DriverFactories): DeployDeps {
  const drivers = new WeakMap<Target, Drivers>();
  let fallback: Notifier | undefined;
  return {
    findTarget,
    driversFor(target) {
      let found = drivers.get(target);
      if (!found) {
        found = lazyDrivers(target, factories);
        drivers.set(target, found);
      }
      return found;
    },
    fallbackNotifier() {
      if (!fallback) {
        if (!factories.fallbackNotifier) throw new MissingCapabilityError('fallbackNotifier');
        fallback = factories.fallbackNotifier();
      }
      return fallback;
    },
    now: Date.now,
    sleep: (ms) => sleep(ms),
  };
}

/** Drivers whose capabilities are made on first use, by their factory. */
function lazyDrivers(target: Target, factories: DriverFactories): Drivers {
  const made = new Map<keyof Drivers, unknown>();
  const drivers = {} as Drivers;
  for (const capability of CAPABILITIES) {
    Object.defineProperty(drivers, capability, {
      enumerable: true,
      get() {
        if (!made.has(capability)) {
          const factory = factories[capability];
          if (!factory) throw new MissingCapabilityError(capability);
          made.set(capability, factory(target));
        }
        return made.get(capability);
      },
    });
  }
  return drivers;
}

/**
 * The real dependencies with every capability, for the CLI, tests and benchmarks: the target
 * registry, the drivers the target declares (created once per target and reused across
 * invocations), the real clock.
 *
 * @example
 * const deps = defaultDeployDeps();
 * const plan = planDeployStep({ input: { target: 'demo', ref: 'v2' }, runId: 'r1' }, deps);
 */
export function defaultDeployDeps(): DeployDeps {
  const drivers = new WeakMap<Target, Drivers>();
  const lean = deployDepsWith({ fallbackNotifier: () => fallbackNotifierFor() });
  return {
    ...lean,
    driversFor(target) {
      let found = drivers.get(target);
      if (!found) {
        found = driversFor(target);
        drivers.set(target, found);
      }
      return found;
    },
  };
}
