/**
 * The real dependencies of the health steps: the target registry, the drivers the target declares
 * (created once per target and reused across invocations), the real clock. A Lambda passes only
 * the factories its step uses, so its bundle holds only their adapters.
 */
import { findTarget } from '../config/registry.ts';
import type { Target } from '../config/schema.ts';
import type { HealthDeps } from './check.ts';

/** A factory per capability; any may be absent (the step that needs it then says so). */
export type HealthFactories = {
  [K in Exclude<keyof HealthDeps, 'findTarget' | 'now' | 'fallbackNotifier' | 'alertWindowMs' | 'sleep'>]?: (
    target: Target,
  ) => ReturnType<NonNullable<HealthDeps[K]>>;
} & { fallbackNotifier?: () => ReturnType<HealthDeps['fallbackNotifier']> };

/** A health step asked for a capability its handler was not given. */
export class MissingHealthCapabilityError extends Error {
  constructor(capability: string) {
    super(`this handler was not given the "${capability}" health capability`);
    this.name = 'MissingHealthCapabilityError';
  }
}

/**
 * The health dependencies from factories.
 *
 * @example
 * const deps = healthDepsWith({ hosts: hostDirectoryFor, probes: probeRunnerFor });
 * await probeTargetStep({ target: 'demo', runId: 'r' }, deps);
 */
export function healthDepsWith(factories: HealthFactories): HealthDeps {
  const made = new Map<string, WeakMap<Target, unknown>>();
  const capability =
    <K extends keyof HealthFactories>(name: K) =>
    (target: Target) => {
      const factory = factories[name] as ((t: Target) => unknown) | undefined;
      if (!factory) throw new MissingHealthCapabilityError(name);
      let cache = made.get(name);
      if (!cache) {
        cache = new WeakMap();
        made.set(name, cache);
      }
      if (!cache.has(target)) cache.set(target, factory(target));
      return cache.get(target);
    };
  let fallback: ReturnType<HealthDeps['fallbackNotifier']> | undefined;
  return {
    findTarget,
    hosts: capability('hosts') as HealthDeps['hosts'],
    probes: capability('probes') as HealthDeps['probes'],
    store: capability('store') as HealthDeps['store'],
    ...(factories.history ? { history: capability('history') as NonNullable<HealthDeps['history']> } : {}),
    ...(factories.runs ? { runs: capability('runs') as NonNullable<HealthDeps['runs']> } : {}),
    leases: capability('leases') as HealthDeps['leases'],
    recoveries: capability('recoveries') as HealthDeps['recoveries'],
    notifier: capability('notifier') as HealthDeps['notifier'],
    fallbackNotifier() {
      if (!factories.fallbackNotifier) throw new MissingHealthCapabilityError('fallbackNotifier');
      fallback ??= factories.fallbackNotifier();
      return fallback;
    },
    now: Date.now,
    alertWindowMs: alertWindowMs(process.env),
  };
}

/**
 * Milliseconds a health run that alerts first waits to group other targets' alerts with its own:
 * `STEPOPS_ALERT_GROUP_SECONDS` when set, else 10 s in a Lambda (where many targets' schedules
 * fire together) and none on this machine.
 *
 * @example
 * alertWindowMs({ AWS_LAMBDA_FUNCTION_NAME: 'check-target' }) // 10000
 */
export function alertWindowMs(env: NodeJS.ProcessEnv): number {
  const set = Number(env.STEPOPS_ALERT_GROUP_SECONDS);
  if (env.STEPOPS_ALERT_GROUP_SECONDS !== undefined && Number.isFinite(set) && set >= 0) {
    return Math.min(set, 30) * 1000;
  }
  return env.AWS_LAMBDA_FUNCTION_NAME ? 10_000 : 0;
}
