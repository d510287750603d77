/**
 * What the deploy steps need from the outside world, passed in explicitly so that tests can swap a
 * single capability (a host directory that finds nothing, a notifier that fails) and keep the rest
 * real.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { findTarget } from '../config/registry.ts';
import type { Target } from '../config/schema.ts';
import { SnsNotifier } from '../drivers/aws/sns-notifier.ts';
import { awsResourceNames, type Drivers, driversFor } from '../drivers/index.ts';
import { OutboxNotifier } from '../drivers/local/outbox-notifier.ts';
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

/**
 * The real dependencies: the target registry, the drivers the target declares (created once per
 * target and reused across invocations), the real clock.
 *
 * @example
 * const deps = defaultDeployDeps();
 * const plan = planDeployStep({ input: { target: 'demo', ref: 'v2' }, runId: 'r1' }, deps);
 */
export function defaultDeployDeps(): DeployDeps {
  const drivers = new WeakMap<Target, Drivers>();
  let fallback: Notifier | undefined;
  return {
    findTarget,
    driversFor(target) {
      let found = drivers.get(target);
      if (!found) {
        found = driversFor(target);
        drivers.set(target, found);
      }
      return found;
    },
    fallbackNotifier() {
      if (!fallback) {
        const topic = awsResourceNames().alertsTopicArn;
        fallback = topic ? new SnsNotifier(topic) : new OutboxNotifier();
      }
      return fallback;
    },
    now: Date.now,
    sleep: (ms) => sleep(ms),
  };
}
